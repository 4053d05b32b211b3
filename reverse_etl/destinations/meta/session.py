"""A Meta sending session: the client, the request envelope and what to say about refusals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from reverse_etl.destinations.base import ResolvedSource, Target
from reverse_etl.destinations.meta.client import MetaClient
from reverse_etl.destinations.meta.responses import MetaOutcome, settings_problem
from reverse_etl.destinations.meta.vocab import AUTH_HINT, PARTNER_AGENT
from reverse_etl.destinations.shared.rejected_token import rejected_token
from reverse_etl.errors import AuthError, DestinationError, Problem, RequestFieldError

if TYPE_CHECKING:
    from reverse_etl.delivery.retry import RetryPolicy
    from reverse_etl.destinations.meta.destination import MetaDestination


def envelope_prefix(test_event_code: str | None) -> bytes:
    """The body up to and including ``"data":[`` (the runner adds the events and ``]}``).

    ``test_event_code`` only when set: with it, Meta shows the events in Test Events and
    does not use them for ads. orjson escapes the code's quotes and control characters."""
    fields: dict[str, str] = {}
    if test_event_code is not None:
        fields["test_event_code"] = test_event_code
    fields["partner_agent"] = PARTNER_AGENT
    return orjson.dumps(fields)[:-1] + b',"data":['


@dataclass
class MetaSession:
    """One destination's connection for a run (see ``base.Session``)."""

    destination: MetaDestination
    client: MetaClient
    source: ResolvedSource
    envelope: bytes
    auth_hint: str = AUTH_HINT

    def send(self, body: bytes) -> MetaOutcome:
        return self.client.send(body)

    def explain(self, error: DestinationError) -> Problem | None:
        """A rejected token, a refused pixel or test code, as the destinations.yml key to fix."""
        config = self.destination.config
        if isinstance(error, AuthError):  # the token, as `retl check` names it
            name = self.destination.name
            return rejected_token(
                "Meta",
                error,
                destination=name,
                file=config.file,
                line=config.line_of("access_token"),
            )
        if not isinstance(error, RequestFieldError):
            return None
        return settings_problem(
            error.field,
            error.message,
            destination=self.destination.name,
            file=config.file,
            line_of=config.line_of,
        )


@contextmanager
def open_session(
    destination: MetaDestination, target: Target, policy: RetryPolicy
) -> Iterator[MetaSession]:
    """Connect to the pixel's events endpoint (Meta has no event source to resolve)."""
    s = destination.settings
    with MetaClient(
        target.base_url,
        s.api_version,
        s.pixel_id,
        target.token,
        pool_size=s.thread_count,
        deadline=policy.request_deadline,
    ) as client:
        yield MetaSession(
            destination,
            client,
            ResolvedSource(s.action_source, s.pixel_id, "configured"),
            envelope_prefix(s.test_event_code),
        )
