"""The Destination contract: what the pipeline may ask of an ad platform, and nothing more.

``state/``, ``delivery/``, ``validation/`` and ``pipeline/`` talk to a platform only through
the types here; a platform is one folder under ``destinations/`` plus one line in
``registry.py``. What differs between platforms is declared as data (:class:`Capabilities`)
or answered by a method of :class:`Destination`:

- the parameter catalog and the column rules that validation reads (:class:`ColumnRules`);
- the key columns, and the encode plan: set-based SQL over the model's rows, plus any pre-pass
  (a table of parsed phone numbers) run in the workbench before it;
- the state scope and the mapping description that is fingerprinted;
- credentials and the target, with the sandbox override;
- a sending :class:`Session`: the request envelope, a ``send`` that classifies each answer
  (ok / partial / transient / invalid / config / auth / terminal, see
  ``delivery/outcome.py``), and event-source resolution where the platform has it.

The encode SQL yields, per row, these columns (the pipeline reads nothing else):

``__key``       the primary key as text (NULL when a key column is NULL)
``__hash``      what the state records for the row once it is acknowledged
``__change_in`` ``new`` / ``changed`` / ``unchanged`` (from the diff; see state/diff.py)
``__errors``    why the row is invalid ("; "-joined), or NULL
``__warnings``  why the row is suspect ("; "-joined), or NULL
``__match``     an integer of match-key bits (see :meth:`Destination.coverage_sql`), or NULL
``__payload``   the event as JSON text
``__event_id``  the event id the payload carries, as text (NULL: none), for the delivery log
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import SecretStr

from reverse_etl.destinations.catalog import (
    Catalog,
    ColumnIssue,
    ColumnMapping,
    ContentKey,
    ParamSpec,
)

if TYPE_CHECKING:
    import pyarrow as pa  # annotations only: validate reads this module without Arrow (#18)

    from reverse_etl.check import DestinationCheck
    from reverse_etl.config.destinations import DestinationConfig
    from reverse_etl.delivery.outcome import Outcome
    from reverse_etl.delivery.retry import RetryPolicy
    from reverse_etl.engine.duckdb import DuckDBEngine
    from reverse_etl.errors import DestinationError, Problem
    from reverse_etl.sandbox import SandboxServer

OnChange = Literal["resend", "skip", "resend_within_dedup_window"]


@dataclass(frozen=True)
class Capabilities:
    """What a platform can do and how, declared as data (dlt's destination capabilities)."""

    platform: str  # the name people know it by: "TikTok", "Meta"
    max_events_per_request: int  # the batch cap of one request
    dedup_window_seconds: int  # the platform drops a repeated event_id within this window
    resolves_event_source: bool = False  # a request goes to a source found by name first
    match_coverage: bool = False  # rows carry match-key bits (__match)
    preflight_check: bool = False  # ``retl check`` can verify its settings read-only
    docs: str = ""  # the page that documents it, e.g. docs/tiktok.md
    # The top-level field of an event that carries its event id (None: events have none); the
    # delivery log keeps the encoder's ``__event_id``, the text sent in that field.
    event_id_field: str | None = "event_id"
    # The settings every request is addressed by: what to check when all events of a send
    # are rejected (the request itself is wrong, not its events).
    request_settings: str = "this destination's settings"


@dataclass(frozen=True)
class Target:
    """Where a destination's requests go for this run (the sandbox overrides the config)."""

    base_url: str
    token: SecretStr
    sandbox: bool = False
    event_source_id: str | None = None  # replaces the configured ID (sandbox runs)


@dataclass(frozen=True)
class ResolvedSource:
    """Where the events of a run went: the kind of source, its ID, and how it was found."""

    label: str  # e.g. WEB for TikTok, website for Meta
    id: str | None = None
    how: str | None = None  # e.g. "configured", "found by name", "created"
    name: str | None = None


@dataclass(frozen=True)
class OfflineEnvelope:
    """A request envelope known without the network (``retl show --payload``): ``prefix`` is
    what ``Session.envelope`` would be, except where the platform resolves something when a
    sync sends (an event source found by name): a placeholder stands there, and ``pending``
    says in words what the sync fills in."""

    prefix: bytes
    pending: tuple[str, ...] = ()


@dataclass(frozen=True)
class EncodePlan:
    """How one destination turns its model's rows into events.

    ``sql`` yields the columns listed in this module's docstring. ``mask_keys``: a key column
    is PII, so reports show keys hashed (the platform says so of the columns it hashes; the
    plan adds keys named after personal data or holding it, ``mask_event_ids`` likewise).
    ``mapping`` is the description whose fingerprint tells when the bytes sent for the same
    row change (see state/fingerprint.py).
    ``detail`` is the platform's own (its mapping and spec), opaque to the pipeline.
    """

    sql: str
    key_columns: tuple[str, ...]
    mask_keys: bool
    mapping: dict[str, Any]
    detail: Any = None
    tables: tuple[str, ...] = ()  # temporary tables a pre-pass made, dropped after the run
    mask_event_ids: bool = False  # an event id sent holds an e-mail address or phone number


class Coverage(Protocol):
    """The share of the rows to send that carry a strong match key (None: nothing to send),
    for reports and the min_match_coverage stop (``shared/coverage.py`` builds it from the
    bits a platform declares). ``warnings``: sentences about the rows to send that plan and
    sync print as warnings (how many phones were read in a way the user may not mean)."""

    @property
    def rows(self) -> int: ...
    @property
    def strong(self) -> int: ...
    @property
    def minimum(self) -> float | None: ...
    @property
    def coverage(self) -> float | None: ...
    @property
    def below_minimum(self) -> bool: ...
    @property
    def strong_key_names(self) -> tuple[str, ...]: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...
    def to_dict(self) -> dict[str, Any]: ...
    def summary(self) -> str: ...


class CommonSettings(Protocol):
    """The settings every destination type has (what the pipeline reads of a config)."""

    @property
    def model(self) -> str: ...
    @property
    def primary_key(self) -> str | list[str] | None: ...
    @property
    def thread_count(self) -> int: ...
    @property
    def skip_invalid_record(self) -> bool: ...
    @property
    def test_event_code(self) -> str | None: ...
    @property
    def limited_data_use(self) -> bool: ...


class Session(Protocol):
    """An open connection to the platform for one destination's run."""

    source: ResolvedSource
    envelope: bytes  # the request body up to and including the events list's "["
    auth_hint: str  # how to get a new token, said when the platform refuses it

    def send(self, body: bytes) -> Outcome:
        """Post one request body (envelope + events + ``]}``) and classify the answer."""
        ...

    def explain(self, error: DestinationError) -> Problem | None:
        """A request-level refusal (``config`` outcome) as a problem located in
        destinations.yml, or None to report the error as it is."""
        ...


@runtime_checkable
class ColumnRules(Protocol):
    """What static validation (``validation/``) and the mapping read of a platform's catalog
    for one configured destination (its event source decides what is required)."""

    platform: str
    catalog: Catalog
    objects: tuple[str, ...]  # STRUCT columns read field by field (user -> user.email)
    open_objects: frozenset[str]  # objects whose unknown keys are sent as given
    content_keys: tuple[ContentKey, ...]  # keys of the structs in a contents column
    source: str  # the event source the rules are for

    def map_columns(self, names: Sequence[str], *, ignore: Sequence[str] = ()) -> ColumnMapping:
        """Map output column names to payload paths (the very mapping a sync uses)."""
        ...

    def key_columns(
        self,
        names: Sequence[str],
        configured: Sequence[str] | None,
        model_key: Sequence[str] | None,
    ) -> tuple[tuple[str, ...], bool] | None:
        """The key columns and whether event_id is derived from them; None: no key."""
        ...

    def key_only_columns(self, keys: Sequence[str]) -> list[str]:
        """Key columns that are not parameters: they identify rows but are not sent."""
        ...

    def required(self) -> list[ParamSpec]:
        """Parameters every row must have for this source."""
        ...

    def missing_required(self, mapped: Mapping[str, Collection[str] | None]) -> list[ColumnIssue]:
        """What the model lacks of the required parameters, given the parameters its columns
        give (``mapped``: parameter name -> the column's values when all are statically
        known, else None; '' among them: a row may have none, NULL or blank): a platform
        whose rows say their own source (Meta's ``action_source`` column) requires what
        those sources need."""
        ...

    def identifier_issues(self, params: set[str]) -> list[ColumnIssue]:
        """Warnings when no mapped parameter lets the platform match the person."""
        ...

    def value_issues(self, param: ParamSpec, values: Iterable[str]) -> list[ColumnIssue]:
        """Problems with values known statically (event names, fixed vocabularies).
        ``ColumnIssue.rule`` names the validate rule."""
        ...


class Destination(Protocol):
    """One configured destination of some platform. Built by ``registry.destination_for``."""

    type_name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    config: DestinationConfig

    @property
    def name(self) -> str: ...
    @property
    def settings(self) -> CommonSettings: ...
    @property
    def event_source(self) -> str:
        """The kind of source events go to, for reports (WEB, APP …; website …)."""
        ...

    @property
    def on_change(self) -> OnChange:
        """What a changed row does once it was acknowledged (see state/dedup.py)."""
        ...

    def notices(self) -> list[str]:
        """Things to tell the user about the settings before a run (not errors)."""
        ...

    def config_warnings(self) -> list[Problem]:
        """Warnings about a setting, located at its destinations.yml key (severity
        ``warning``): ``retl validate`` (rule ``padded-value``), ``plan`` and ``sync`` say them."""
        ...

    def rules(self) -> ColumnRules:
        """The catalog and column rules of this destination's event source."""
        ...

    def state_scope(self) -> str:
        """Which slice of the state this destination uses: changing it starts afresh."""
        ...

    def key_columns(
        self, names: Sequence[str], model_key: Sequence[str] | None
    ) -> tuple[str, ...] | None:
        """The columns that make a row's key (None: the model has no key)."""
        ...

    def encode_plan(
        self,
        schema: pa.Schema,
        relation: str,
        model_key: Sequence[str] | None,
        *,
        prekeyed: bool = False,
        ignore: Sequence[str] = (),
    ) -> tuple[EncodePlan | None, list[Problem]]:
        """The encode SQL over ``relation`` and every problem found on the way (None when
        one is an error). ``ignore``: columns not sent (another platform's parameters)."""
        ...

    def prepare(self, engine: DuckDBEngine, plan: EncodePlan) -> EncodePlan:
        """Run the plan's pre-passes in the workbench (a phone table, say) and return the
        plan that reads them: ``plan`` with its SQL and detail replaced and the tables added,
        every other field kept (the pipeline may have widened ``mask_keys``)."""
        ...

    def coverage_sql(self) -> list[str]:
        """Aggregate expressions over ``__match`` summed with the plan's counts."""
        ...

    def coverage(self, rows: int, counts: Sequence[int]) -> Coverage | None:
        """Match-key coverage of ``rows`` rows to send, from ``coverage_sql``'s sums."""
        ...

    def target(self, sandbox: SandboxServer | None) -> Target:
        """Where to send: the configured API and token, or the running emulator."""
        ...

    def open(self, target: Target, policy: RetryPolicy) -> AbstractContextManager[Session]:
        """Connect (resolving the event source where the platform has one)."""
        ...

    def offline_envelope(self, *, sandbox: bool) -> OfflineEnvelope:
        """The envelope ``open`` would build, from the settings alone (no network, no
        token); ``sandbox``: as a ``--sandbox`` run, whose emulator has its own IDs."""
        ...

    def known_source(self, target: Target) -> ResolvedSource | None:
        """The event source ``open`` would resolve for ``target``, when the settings alone
        say it (None: only the platform can, e.g. a TikTok source found by name). A sync
        with nothing to send then opens no session (issue #18)."""
        ...

    def check(self, sandbox: SandboxServer | None, policy: RetryPolicy) -> DestinationCheck:
        """``retl check``: verify token and target read-only, sending nothing (items
        ``skipped`` with a reason where the platform offers no such check)."""
        ...


@dataclass(frozen=True)
class DestinationType:
    """A registry entry: the settings model and the class built from it."""

    name: str
    settings: type[Any]
    factory: type[Any]
    column_prefixes: tuple[str, ...] = field(default_factory=tuple)
