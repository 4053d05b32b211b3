"""Render one model's Jinja with dbt-compatible helpers: ref, source, var, env_var, config."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2

from reverse_etl.config.suggest import did_you_mean
from reverse_etl.errors import ModelError


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


@dataclass
class RenderResult:
    sql: str
    refs: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)


class _HelperError(Exception):
    """Raised inside a template by a helper; carries the user-facing text and fix."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    extensions=["jinja2.ext.do"],
)

_MISSING = object()


def _lookup_error(exc: LookupError) -> _HelperError:
    hint = exc.args[1] if len(exc.args) > 1 else None
    return _HelperError(str(exc.args[0]), hint)


@dataclass
class _Helpers:
    """The dbt-compatible Jinja helpers of one model, recording what it references."""

    name: str
    ctx: RenderContext
    result: RenderResult

    def ref(self, *args: str, **kwargs: Any) -> str:
        ctx, package = self.ctx, None
        if len(args) == 2:  # dbt's two-argument form: ref('package', 'model')
            package, args = args[0], args[1:]
        if len(args) != 1 or kwargs.keys() - {"version", "v"}:
            raise _HelperError("ref() takes one model name", "write {{ ref('model_name') }}")
        target = args[0]
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
            hint = did_you_mean(target, known) or "models are the .sql files' stems"
            raise _HelperError(f"ref('{target}'): no model named '{target}'", hint)
        if target == self.name:
            raise _HelperError(f"model '{self.name}' refers to itself", "remove the ref()")
        self.result.refs.append(target)
        return ctx.relation_for_ref(target)

    def source(self, source_name: str, table_name: str) -> str:
        try:
            relation = self.ctx.relation_for_source(source_name, table_name)
        except LookupError as exc:
            raise _lookup_error(exc) from None
        self.result.sources.append((source_name, table_name))
        return relation

    def var(self, var_name: str, default: Any = _MISSING) -> Any:
        if var_name in self.ctx.vars:
            return self.ctx.vars[var_name]
        if default is not _MISSING:
            return default
        hint = did_you_mean(var_name, self.ctx.vars)
        raise _HelperError(
            f"var('{var_name}') is not defined",
            hint or "add it under 'vars:' in retl_project.yml, pass --vars, or give a default",
        )

    @staticmethod
    def env_var(var_name: str, default: Any = _MISSING) -> str:
        value = os.environ.get(var_name)
        if value is not None:
            return value
        if default is not _MISSING:
            return str(default)
        raise _HelperError(
            f"environment variable {var_name} is not set",
            f"export {var_name}=... or give a default: env_var('{var_name}', '...')",
        )

    def config(self, **kwargs: Any) -> str:
        self.result.config.update(kwargs)
        return ""


def render_model(name: str, path: Path, text: str, ctx: RenderContext) -> RenderResult:
    """Render ``text`` (the model file at ``path``); errors name the file and line."""
    result = RenderResult(sql="")
    h = _Helpers(name, ctx, result)
    try:
        template = _ENV.from_string(text)
        template.filename = str(path)
        result.sql = template.render(
            ref=h.ref, source=h.source, var=h.var, env_var=h.env_var, config=h.config, this=name
        )
    except jinja2.TemplateSyntaxError as exc:
        raise ModelError(
            f"Jinja syntax error: {exc.message}", file=path, line=exc.lineno, key=name
        ) from None
    except _HelperError as exc:
        raise ModelError(
            exc.message, file=path, line=_template_line(exc.__traceback__, path), hint=exc.hint
        ) from None
    except jinja2.UndefinedError as exc:
        raise ModelError(
            f"undefined name: {exc.message}",
            file=path,
            line=_template_line(exc.__traceback__, path),
            hint="use ref(), source(), var(), env_var() or config(); check the spelling",
        ) from None
    except jinja2.TemplateError as exc:
        raise ModelError(
            f"template error: {exc}", file=path, line=_template_line(exc.__traceback__, path)
        ) from None
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise ModelError(
            f"error while rendering: {exc}", file=path, line=_template_line(exc.__traceback__, path)
        ) from None
    return result


def _template_line(tb: TracebackType | None, path: Path) -> int | None:
    """Jinja rewrites tracebacks so template frames carry the template's file and line."""
    line = None
    target = str(path)
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == target:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
