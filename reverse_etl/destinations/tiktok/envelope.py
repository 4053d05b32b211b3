"""The ``/event/track/`` request envelope: the fields around ``data``."""

from __future__ import annotations

from dataclasses import dataclass

import orjson


@dataclass(frozen=True)
class EnvelopeSpec:
    """The request fields around ``data``: where the events go, the optional test code and the
    optional partner name."""

    event_source: str
    event_source_id: str
    test_event_code: str | None = None
    partner_name: str | None = None

    def prefix(self) -> bytes:
        """The body bytes up to and including ``"data":[``."""
        return envelope_prefix(
            self.event_source, self.event_source_id, self.test_event_code, self.partner_name
        )


def envelope_prefix(
    event_source: str,
    event_source_id: str,
    test_event_code: str | None,
    partner_name: str | None = None,
) -> bytes:
    """Open a ``/event/track/`` body: top-level fields, then ``"data":[``.

    ``partner_name`` is sent only when configured: TikTok answers 40063 (invalid partner name)
    to a name it has not registered, and the field is optional.
    orjson encodes the scalars so quotes and control characters in ids are escaped properly.
    """
    parts = [
        b'{"event_source":',
        orjson.dumps(event_source),
        b',"event_source_id":',
        orjson.dumps(event_source_id),
    ]
    if partner_name:
        parts += [b',"partner_name":', orjson.dumps(partner_name)]
    if test_event_code is not None:
        parts += [b',"test_event_code":', orjson.dumps(test_event_code)]
    parts.append(b',"data":[')
    return b"".join(parts)
