"""Webhook notifications at the end of a sync (``notify:`` in retl_project.yml).

``triggers`` decides what deserves a message (pure), ``message`` builds the Slack-compatible
JSON (pure), ``post`` sends it (httpx, a short deadline), ``run`` ties them together for the
facade. A webhook that fails is a warning on the console, never a failed sync.
"""

from reverse_etl.notify.run import notify_run

__all__ = ["notify_run"]
