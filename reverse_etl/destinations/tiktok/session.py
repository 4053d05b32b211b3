"""A TikTok sending session: the client, the resolved event source and the envelope."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reverse_etl.destinations.base import ResolvedSource, Target
from reverse_etl.destinations.shared.rejected_token import rejected_token
from reverse_etl.destinations.tiktok.client import AUTH_HINT, TikTokClient, TrackOutcome
from reverse_etl.destinations.tiktok.envelope import EnvelopeSpec
from reverse_etl.destinations.tiktok.responses import settings_problem
from reverse_etl.destinations.tiktok.sources import resolve_event_source
from reverse_etl.errors import AuthError, DestinationError, Problem, RequestFieldError

if TYPE_CHECKING:
    from reverse_etl.delivery.retry import RetryPolicy
    from reverse_etl.destinations.tiktok.destination import TikTokDestination


@dataclass
class TikTokSession:
    """One destination's connection for a run (see ``base.Session``)."""

    destination: TikTokDestination
    client: TikTokClient
    source: ResolvedSource
    envelope: bytes
    event_source: str  # the payload spelling TikTok answered about (web, app …)
    auth_hint: str = AUTH_HINT

    def send(self, body: bytes) -> TrackOutcome:
        return self.client.track(body)

    def explain(self, error: DestinationError) -> Problem | None:
        """A rejected token or a refused top-level field, as the destinations.yml key to fix
        (shared/rejected_token.py, responses.py)."""
        config = self.destination.config
        if isinstance(error, AuthError):  # the token, as `retl check` names it
            name = self.destination.name
            return rejected_token(
                "TikTok",
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
            event_source=self.event_source,
            how=self.source.how,
        )


@contextmanager
def open_session(
    destination: TikTokDestination, target: Target, policy: RetryPolicy
) -> Iterator[TikTokSession]:
    """Connect, and resolve the event source (by ID, by name, or by creating it)."""
    s = destination.settings
    with TikTokClient(
        target.base_url, target.token, pool_size=s.thread_count, deadline=policy.request_deadline
    ) as client:
        resolved = resolve_event_source(client, destination.source_request(target))
        envelope = EnvelopeSpec(
            resolved.event_source, resolved.event_source_id, s.test_event_code, s.partner_name
        )
        yield TikTokSession(
            destination,
            client,
            ResolvedSource(
                destination.event_source, resolved.event_source_id, resolved.how, resolved.name
            ),
            envelope.prefix(),
            resolved.event_source,
        )
