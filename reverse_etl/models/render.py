"""Render one model's Jinja with dbt-compatible helpers: ref, source, var, env_var, config.

Model files may come from an untrusted pull request, so they render in Jinja's immutable
sandbox with only the documented names, a variable holding a secret cannot be read, and the
values of environment variables never reach an error message.
"""

from __future__ import annotations

import operator
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from reverse_etl.config.secret_env import is_secret_name
from reverse_etl.config.suggest import did_you_mean
from reverse_etl.errors import ModelError, Problem
from reverse_etl.models import dbt_names
from reverse_etl.models import template_limits as limits

# What ``target`` is in a model when the project declares no targets (as dbt's target).
DEFAULT_TARGET = {"name": "default", "type": "duckdb"}


@dataclass
class RenderContext:
    """What a model may reference. ``relation_for_source`` turns (source, table) into SQL."""

    model_names: frozenset[str]
    vars: Mapping[str, Any]
    relation_for_ref: Callable[[str], str]
    relation_for_source: Callable[[str, str], str]
    # Models of an attached dbt project: (name, package, version) -> the relation dbt built,
    # or raise LookupError(message, hint). retl's own models win a name clash (as dbt's root
    # project does); these add no edge to retl's DAG.
    external_ref: Callable[[str, str | None, Any], str | None] | None = None
    external_names: frozenset[str] = frozenset()
    # The hint of a ref() found in neither (with a dbt project: where its manifest is).
    external_missing_hint: str | None = None
    # Environment variables that the project's secret settings read: env_var() refuses them
    # (and any whose name says it holds a secret), since a model's text can be printed.
    secret_env: frozenset[str] = frozenset()
    # What models see as ``target`` (dbt's): the run's target name and warehouse type.
    target: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TARGET))
    # Seeds and snapshots in the project's dbt folders (seeds/, snapshots/): name -> what it
    # is, so that ref() of one says what retl does instead (dbt_names.dbt_nodes).
    dbt_nodes: Mapping[str, str] = field(default_factory=dict)


@dataclass
class RenderResult:
    sql: str
    refs: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    vars: list[str] = field(default_factory=list)  # the names var() was called with
    config: dict[str, Any] = field(default_factory=dict)
    # Warnings about config() keys retl reads differently or not at all (file and line).
    notes: list[Problem] = field(default_factory=list)


# config() keys: retl's own, and dbt's that retl reads under its own name or not at all.
RETL_CONFIG_KEYS = ("primary_key", "tags", "dialect")
DBT_ALIASES = {"unique_key": "primary_key"}
DBT_ONLY_CONFIG_KEYS = frozenset(  # every dbt model config a project may carry over
    """
    materialized schema database alias enabled meta docs persist_docs pre_hook post_hook
    full_refresh grants contract constraints sql_header on_schema_change
    incremental_strategy incremental_predicates merge_update_columns merge_exclude_columns
    partition_by cluster_by indexes dist sort file_format location_root transient copy_grants
    query_tag snowflake_warehouse labels bind access group event_time batch_size lookback
    begin concurrent_batches unlogged tblproperties require_partition_filter
    partition_expiration_days hours_to_expiration kms_key_name secure automatic_clustering
    strategy target_schema target_database check_cols updated_at invalidate_hard_deletes
    hard_deletes quote_columns column_types delimiter
    """.split()  # noqa: SIM905 (a word list reads better than 60 quoted strings)
)


class _HelperError(Exception):
    """Raised inside a template by a helper; carries the user-facing text and fix."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class _ModelSandbox(ImmutableSandboxedEnvironment):
    """No attribute starting with '_', no mutation of values, nothing of a secret's object
    (its ``reveal()``, ``get_secret_value()``) whichever way one reached the template, and
    bounded sizes and work (``template_limits``: ``*``, ``**``, ``%``, calls, loops, ranges
    and filters)."""

    intercepted_binops = frozenset({"*", "**", "%", "+", "//"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if _is_secret(obj):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        numbers = _is_int(left) and _is_int(right)
        if operator == "**":
            if numbers:
                bits = max(abs(left), 2).bit_length() * right
                if right > 0 and bits > limits.MAX_BUILT * 8:
                    raise limits.LimitError(f"{left} ** {right} is too large for a template")
                limits.spend((max(bits, 0) // 64 + 1) ** 2)  # what multiplying that costs
            return limits.built(left**right)
        if operator == "%" and isinstance(left, str | bytes):
            limits.check_percent(left, right)
            limits.spend(limits.size_of(right))
            return limits.built(left % right)
        if numbers:  # *, //, % of two numbers: their sizes multiply
            bits = left.bit_length() + right.bit_length()
            limits.too_big(bits // 8 if operator == "*" else 0, f"a number {operator} a number")
            limits.spend(limits.size_of(left) * limits.size_of(right))
            return limits.built(_BINOPS[operator](left, right))
        if operator in ("%", "//"):
            return limits.built(_BINOPS[operator](left, right))
        if operator == "+":
            if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
                limits.too_big(limits.size_of(left) + limits.size_of(right), "+")
            return limits.built(left + right)
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(count, int):
                limits.too_big(limits.size_of(seq) * count, f"repeating a value {count} times")
        return limits.built(left * right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(__obj, LoopContext) and args:  # loop(x) of a recursive loop
            args = (limits.counted_iter(args[0]), *args[1:])
        limits.check_call(__obj, args, kwargs)
        limits.spend(1 + limits.input_size(__obj, args, kwargs))
        return limits.built(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` and ``format_map``: Jinja's sandboxed formatter, whose fields are
        checked once their specs are known (``{:>{w}}`` takes its width from an argument).
        A ``Markup`` (``|safe``) is formatted as the text it is: nothing is escaped here."""
        if super().wrap_str_format(value) is None:
            return None
        formatter = limits.CheckedFormatter(self)
        text = str(value.__self__)
        is_map = value.__name__ == "format_map"

        def checked(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                return str(limits.built(formatter.vformat(text, (), args[0])))
            return str(limits.built(formatter.vformat(text, args, kwargs)))

        return checked

    def _parse(self, source: str, name: str | None, filename: str | None) -> Any:
        # Jinja's parse step (a private method, the one every template goes through): the
        # loops and ~ are routed through template_limits there. tests/security/
        # test_templates.py fails if a Jinja release stops calling it.
        return limits.count_limits(super()._parse(source, name, filename))


_SEQUENCES = (str, bytes, list, tuple)
_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": operator.mul,
    "+": operator.add,
    "//": operator.floordiv,
    "%": operator.mod,
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_ENV = _ModelSandbox(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    extensions=["jinja2.ext.do"],
)
# Only the documented names: Jinja's default globals (lipsum, cycler, joiner, namespace, dict)
# are gone; filters and tests stay, run by the sandbox, each checked and charged.
_ENV.globals.clear()
_ENV.globals["range"] = limits.counted_range
_ENV.filters = {name: limits.charged_filter(name, fn) for name, fn in _ENV.filters.items()}
_ENV.tests = {name: limits.charged_filter(name, t) for name, t in _ENV.tests.items()}  # type: ignore[arg-type]
_ENV.concat = limits.joined  # type: ignore[method-assign]  # captured blocks, macros, caller()
_ENV.finalize = limits.finalized

_MISSING = object()


def _holds_secret(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_secret(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_secret(v) for v in value)
    return _is_secret(value)


def _is_secret(obj: Any) -> bool:
    from pydantic import SecretStr

    from reverse_etl.config.env import LazySecret

    return isinstance(obj, SecretStr | LazySecret)


def _dialect(value: Any) -> str:
    """A model's ``config(dialect=...)``: one of sqlglot's dialect names, lower case."""
    from reverse_etl.models.dialects import known_dialects

    known = known_dialects()
    if isinstance(value, str) and value.lower() in known:
        return value.lower()
    raise _HelperError(
        f"config(dialect={value!r}) is not a SQL dialect retl can read",
        (did_you_mean(str(value), sorted(known)) if isinstance(value, str) else None)
        or "write {{ config(dialect='spark') }}; dialects: " + ", ".join(sorted(known)),
    )


def _lookup_error(exc: LookupError) -> _HelperError:
    hint = exc.args[1] if len(exc.args) > 1 else None
    return _HelperError(str(exc.args[0]), hint)


@dataclass
class _Helpers:
    """The dbt-compatible Jinja helpers of one model, recording what it references."""

    name: str
    ctx: RenderContext
    result: RenderResult
    read_values: list[str] = field(default_factory=list)
    path: Path | None = None
    template: jinja2.Template | None = None

    def ref(self, *args: str, **kwargs: Any) -> str:
        ctx, package = self.ctx, None
        if len(args) == 2:  # dbt's two-argument form: ref('package', 'model')
            package, args = args[0], args[1:]
        if len(args) != 1 or kwargs.keys() - {"version", "v"}:
            raise _HelperError("ref() takes one model name", "write {{ ref('model_name') }}")
        target = args[0]
        if not isinstance(target, str) or (package is not None and not isinstance(package, str)):
            raise _HelperError(
                "ref() takes the model's name as a text", "write {{ ref('orders') }}"
            )
        version = kwargs.get("version", kwargs.get("v"))
        external = package is not None or version is not None or target not in ctx.model_names
        if external and ctx.external_ref is not None:
            try:
                relation = ctx.external_ref(target, package, version)
            except LookupError as exc:
                raise _lookup_error(exc) from None
            if relation is not None:
                return relation
        if target not in ctx.model_names:
            known = [*ctx.model_names, *ctx.external_names]
            if target in ctx.dbt_nodes:
                raise _HelperError(
                    f"ref('{target}'): no model named '{target}'",
                    dbt_names.ref_fix(target, ctx.dbt_nodes[target]),
                )
            hint = (
                did_you_mean(target, known)
                or ctx.external_missing_hint
                or "models are the .sql files' stems"
            )
            raise _HelperError(f"ref('{target}'): no model named '{target}'", hint)
        if target == self.name:
            raise _HelperError(f"model '{self.name}' refers to itself", "remove the ref()")
        self.result.refs.append(target)
        return ctx.relation_for_ref(target)

    def source(self, *args: Any, **kwargs: Any) -> str:
        if kwargs or len(args) != 2 or not all(isinstance(a, str) for a in args):
            raise _HelperError(
                "source() takes the source's name and the table's, as texts",
                "write {{ source('shop', 'orders') }}",
            )
        source_name, table_name = args
        try:
            relation = self.ctx.relation_for_source(source_name, table_name)
        except LookupError as exc:
            raise _lookup_error(exc) from None
        self.result.sources.append((source_name, table_name))
        return relation

    def var(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or not 1 <= len(args) <= 2 or not isinstance(args[0], str):
            raise _HelperError(
                "var() takes the variable's name as a text, and maybe a default",
                "write {{ var('start_date') }} or {{ var('start_date', '2024-01-01') }}",
            )
        var_name, default = args[0], args[1] if len(args) == 2 else _MISSING
        self.result.vars.append(var_name)
        if var_name in self.ctx.vars:
            value = self.ctx.vars[var_name]
            if _holds_secret(value):
                raise _HelperError(
                    f"var('{var_name}') holds a secret: a model may not read one",
                    "pass the value the model needs, not a secret, under 'vars:'",
                )
            return value
        if default is not _MISSING:
            return default
        hint = did_you_mean(var_name, self.ctx.vars)
        raise _HelperError(
            f"var('{var_name}') is not defined",
            hint or "add it under 'vars:' in retl_project.yml, pass --vars, or give a default",
        )

    def env_var(self, var_name: str, default: Any = _MISSING) -> str:
        if not isinstance(var_name, str):
            raise _HelperError("env_var() takes the variable's name as a string")
        if is_secret_name(var_name, self.ctx.secret_env):
            raise _HelperError(
                f"env_var('{var_name}') holds a secret, and a model's SQL can be printed",
                "secrets belong in destinations.yml's secret settings (access_token, …); "
                "pass other values with var() or a variable whose name holds no secret word",
            )
        value = os.environ.get(var_name)
        if value is not None:
            self.read_values.append(value)
            return value
        if default is not _MISSING:
            return str(default)
        raise _HelperError(
            f"environment variable {var_name} is not set",
            f"export {var_name}=... or give a default: env_var('{var_name}', '...')",
        )

    def config(self, *args: Any, **kwargs: Any) -> str:
        """dbt's ``config()``: retl reads ``primary_key`` (``unique_key`` too, with a note)
        and ``tags``; any other key is a warning naming the file, never silently ignored."""
        if args:
            raise _HelperError(
                "config() takes settings by name", "write {{ config(primary_key='event_id') }}"
            )
        line = self.line()
        for given, value in kwargs.items():
            key = given
            if key in DBT_ALIASES:
                key = self._alias(key, value, kwargs, line)
            elif key in DBT_ONLY_CONFIG_KEYS:
                self._note(
                    f"config({key}=...) is a dbt setting that retl ignores: each model runs as "
                    "one SELECT, read by the destinations that name it",
                    line,
                    "remove it, or keep it if dbt reads this file too",
                )
                continue
            elif key not in RETL_CONFIG_KEYS:
                self._note(
                    f"config({key}=...) is not a retl setting and is ignored",
                    line,
                    did_you_mean(key, [*RETL_CONFIG_KEYS, *DBT_ALIASES])
                    or "retl reads " + " and ".join(RETL_CONFIG_KEYS),
                )
                continue
            if key == "tags" and not _is_tags(value):
                raise _HelperError(
                    "config(tags=...) must be a string or a list of strings",
                    "write {{ config(tags=['nightly']) }}",
                )
            if key == "primary_key" and (not _is_tags(value) or not value):
                raise _HelperError(
                    "config(primary_key=...) must be a column name or a list of column names",
                    "write {{ config(primary_key='event_id') }} or "
                    "{{ config(primary_key=['shop_id', 'order_id']) }}",
                )
            self.result.config[key] = _dialect(value) if key == "dialect" else value
        return ""

    def _alias(self, key: str, value: Any, given: Mapping[str, Any], line: int | None) -> str:
        name = DBT_ALIASES[key]
        other = given.get(name, self.result.config.get(name))
        if other is not None and other != value:
            raise _HelperError(
                f"config() sets both {name}={other!r} and {key}={value!r}",
                f"keep one: retl reads {key} as {name}",
            )
        self._note(
            f"config({key}=...) is read as {name} (retl's name for the key of a row)",
            line,
            f"write {name}= to silence this warning",
        )
        return name

    def _note(self, message: str, line: int | None, hint: str) -> None:
        self.result.notes.append(
            Problem(message, file=self.path, line=line, hint=hint, severity="warning")
        )

    def line(self) -> int | None:
        """The template line of the helper being called (Jinja maps compiled code to it)."""
        template = self.template
        if template is None:
            return None
        corresponding = template.get_corresponding_lineno
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            if frame.f_globals.get("__jinja_template__") is template:
                return int(corresponding(frame.f_lineno))
            frame = frame.f_back
        return None


class _Helper:
    """A helper as the template sees it: callable, with a plain repr and no public attributes
    (a bound method's repr would print the whole render context)."""

    __slots__ = ("_fn", "_name")

    def __init__(self, name: str, fn: Callable[..., Any]) -> None:
        self._name = name
        self._fn = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<retl helper {self._name}()>"

    __str__ = __repr__


def render_model(name: str, path: Path, text: str, ctx: RenderContext) -> RenderResult:
    """Render ``text`` (the model file at ``path``); errors name the file and line."""
    result = RenderResult(sql="")
    h = _Helpers(name, ctx, result, path=path)
    helpers: dict[str, Callable[..., Any]] = {
        "ref": h.ref,
        "source": h.source,
        "var": h.var,
        "env_var": h.env_var,
        "config": h.config,
    }
    budget = limits.start_budget()
    try:
        template = _ENV.from_string(text)
        template.filename = str(path)
        h.template = template
        result.sql = limits.checked_output(
            template.generate(
                {n: _Helper(n, fn) for n, fn in helpers.items()},
                this=dbt_names.This(name),
                target=dict(ctx.target),
            )
        )
    except jinja2.TemplateSyntaxError as exc:
        raise ModelError(
            f"Jinja syntax error: {exc.message}",
            file=path,
            line=exc.lineno,
            key=name,
            hint=dbt_names.unknown_tag(exc.message or "")
            or "check the {{ }} and {% %} on that line: each opens and closes around one "
            "whole expression",
        ) from None
    except Exception as exc:  # anything a template does wrong is the model's error
        message, hint = _describe(exc)
        for value in sorted(set(h.read_values), key=len, reverse=True):
            if len(value) >= 3:  # an env value never reaches a message, in any quoting
                for form in {value, repr(value), value.encode("unicode_escape").decode()}:
                    message = message.replace(form, "'***'" if form.startswith("'") else "***")
        raise ModelError(
            message, file=path, line=_template_line(exc.__traceback__, path), hint=hint
        ) from None
    finally:
        limits.end_budget(budget)
    return result


def _describe(exc: Exception) -> tuple[str, str | None]:
    """The message and fix for an error raised while rendering."""
    if isinstance(exc, _HelperError | limits.LimitError | dbt_names.ThisAttributeError):
        return exc.message, exc.hint
    if isinstance(exc, jinja2.UndefinedError):
        known = dbt_names.undefined_name(exc.message or "")
        if known is not None:
            return known
        return f"undefined name: {exc.message}", dbt_names.undefined_fix()
    if isinstance(exc, SecurityError):
        return (
            f"not allowed in a model template: {exc}",
            "templates may call ref(), source(), var(), env_var(), config() and range(), "
            "and use Jinja's filters; they cannot reach Python internals",
        )
    if "no loader for this environment" in str(exc):
        return (
            "include, import and extends are not supported in a model",
            "share SQL through a model of its own and ref() it",
        )
    if isinstance(exc, jinja2.TemplateError):
        return f"template error: {exc}", None
    if isinstance(exc, RecursionError | MemoryError):
        return f"template error: {type(exc).__name__}", "the template recurses or grows too far"
    # Jinja's own line (``<template>, line 15``) counts lines of the Python it generated
    text = re.sub(r"\s*\(<template>, line \d+\)", "", str(exc))
    return f"error while rendering: {text}", None


def _template_line(tb: TracebackType | None, path: Path) -> int | None:
    """Jinja rewrites tracebacks so template frames carry the template's file and line."""
    line = None
    target = str(path)
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == target:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _is_tags(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list | tuple) and all(isinstance(t, str) for t in value)
    )
