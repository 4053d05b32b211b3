"""Read a dbt project's artifacts so retl models can ``ref()`` the relations dbt built.

Pure parsing of ``manifest.json`` (required: ``dbt compile``/``build``/``run`` write it) and
``catalog.json`` (optional: ``dbt docs generate`` writes it). No dbt import, no warehouse
connection: retl works with any dbt version whose manifest schema it knows (v9, dbt 1.5, on).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from reverse_etl import project_files
from reverse_etl.errors import ConfigError

MANIFEST_FILE = "manifest.json"
CATALOG_FILE = "catalog.json"
MIN_MANIFEST_VERSION = 9  # dbt 1.5; v12 is dbt 1.8 and later
REFABLE_TYPES = frozenset({"model", "seed", "snapshot"})

_SCHEMA_VERSION = re.compile(r"/(manifest|catalog)/v(\d+)\.json$")
_REBUILD_HINT = "re-run `dbt compile` (or `dbt build`) in the dbt project to rewrite it"


@dataclass(frozen=True)
class DbtNode:
    """One model, seed or snapshot from the manifest."""

    unique_id: str
    name: str
    package: str
    resource_type: str
    relation: str | None
    """The relation dbt built, e.g. ``"dev"."main"."orders"``; None for ephemeral models."""
    materialized: str | None = None
    version: str | None = None
    latest_version: str | None = None
    declared_columns: Mapping[str, str] = field(default_factory=dict)
    """Columns whose YAML declares a ``data_type`` (name -> type), in declaration order."""


@dataclass(frozen=True)
class DbtArtifacts:
    """What retl reads from a dbt ``target/`` directory."""

    target_dir: Path
    project_name: str | None
    adapter_type: str | None
    dbt_version: str | None
    schema_version: int
    nodes_by_name: Mapping[str, tuple[DbtNode, ...]]
    """Refable nodes by name; within a name, the root project's nodes come first."""
    catalog_columns: Mapping[str, Mapping[str, str]] | None = None
    """unique_id -> column -> warehouse type, from catalog.json; None without that file."""

    @classmethod
    def load(cls, target_dir: Path) -> DbtArtifacts:
        """Read ``target_dir/manifest.json`` and, if present, ``target_dir/catalog.json``."""
        manifest_path = target_dir / MANIFEST_FILE
        if not manifest_path.is_file():
            raise ConfigError(
                f"dbt manifest not found: {manifest_path}",
                file=manifest_path,
                hint="run `dbt compile` or `dbt build` in the dbt project first "
                "(it writes target/manifest.json), or point retl at the right target directory",
            )
        manifest = _read_json(manifest_path, _REBUILD_HINT)
        metadata = _mapping(manifest.get("metadata"))
        version = _schema_version(metadata, "manifest", manifest_path)
        if version < MIN_MANIFEST_VERSION:
            raise ConfigError(
                f"dbt manifest schema v{version} (dbt {metadata.get('dbt_version', '?')}) "
                f"is older than retl reads (v{MIN_MANIFEST_VERSION}, dbt 1.5)",
                file=manifest_path,
                hint="upgrade dbt to 1.5 or later and re-run `dbt compile`",
            )
        nodes = manifest.get("nodes")
        if not isinstance(nodes, dict):
            raise ConfigError(
                "dbt manifest has no 'nodes' object", file=manifest_path, hint=_REBUILD_HINT
            )
        project = _str_or_none(metadata.get("project_name"))
        catalog_path = target_dir / CATALOG_FILE
        return cls(
            target_dir=target_dir,
            project_name=project,
            adapter_type=_str_or_none(metadata.get("adapter_type")),
            dbt_version=_str_or_none(metadata.get("dbt_version")),
            schema_version=version,
            nodes_by_name=_index(nodes.values(), project),
            catalog_columns=_read_catalog(catalog_path) if catalog_path.is_file() else None,
        )

    def model_names(self) -> list[str]:
        """Names ``ref()`` can reach: models (ephemeral ones too), seeds and snapshots, sorted."""
        return sorted(self.nodes_by_name)

    def node(
        self, name: str, *, package: str | None = None, version: str | int | None = None
    ) -> DbtNode | None:
        """The node ``ref(name)`` means, as dbt picks it: the root project's first; for a
        versioned model, its ``latest_version`` unless ``version`` is given."""
        candidates = self.nodes_by_name.get(name, ())
        if package is not None:
            candidates = tuple(n for n in candidates if n.package == package)
        if not candidates:
            return None
        # Only the first package's nodes count: the root project, else the first in the manifest.
        same = [n for n in candidates if n.package == candidates[0].package]
        if version is not None:
            return next((n for n in same if n.version == _version_str(version)), None)
        unversioned = next((n for n in same if n.version is None), None)
        if unversioned is not None:
            return unversioned
        latest = same[0].latest_version
        pinned = next((n for n in same if n.version == latest), None)
        return pinned or max(same, key=lambda n: _version_key(n.version))

    def relation(
        self, name: str, *, package: str | None = None, version: str | int | None = None
    ) -> str | None:
        """The relation dbt built for ``name``; None when unknown or ephemeral (see node())."""
        found = self.node(name, package=package, version=version)
        return found.relation if found else None

    def columns(
        self, name: str, *, package: str | None = None, version: str | int | None = None
    ) -> dict[str, str] | None:
        """Column -> type: the warehouse's types from catalog.json when it lists the node,
        else the types declared in the dbt YAML (only the columns that declare one)."""
        found = self.node(name, package=package, version=version)
        if found is None:
            return None
        if self.catalog_columns is not None and found.unique_id in self.catalog_columns:
            return dict(self.catalog_columns[found.unique_id])
        return dict(found.declared_columns) or None


def target_dir_for(project_dir: Path) -> Path:
    """A dbt project's target directory: ``DBT_TARGET_PATH``, else ``target-path`` from
    ``dbt_project.yml``, else ``target`` (relative paths are relative to ``project_dir``)."""
    configured = os.environ.get("DBT_TARGET_PATH")
    project_file = project_dir / "dbt_project.yml"
    if not configured and project_file.is_file():
        try:
            data = yaml.safe_load(project_files.read_text(project_file))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read dbt project file: {exc}", file=project_file) from None
        value = data.get("target-path") if isinstance(data, dict) else None
        configured = value if isinstance(value, str) else None
    return project_dir / (configured or "target")


def _index(raw_nodes: Any, root: str | None) -> dict[str, tuple[DbtNode, ...]]:
    by_name: dict[str, list[DbtNode]] = {}
    for raw in raw_nodes:
        if not isinstance(raw, dict) or raw.get("resource_type") not in REFABLE_TYPES:
            continue
        node = _node(raw)
        by_name.setdefault(node.name, []).append(node)
    # A stable sort keeps manifest order within the root project and within the others.
    return {
        name: tuple(sorted(nodes, key=lambda n: n.package != root))
        for name, nodes in by_name.items()
    }


def _node(raw: Mapping[str, Any]) -> DbtNode:
    name = str(raw.get("name", ""))
    config = _mapping(raw.get("config"))
    materialized = _str_or_none(config.get("materialized"))
    relation = _str_or_none(raw.get("relation_name"))
    if relation is None and materialized != "ephemeral":
        # Manifests written before relation_name was filled in: build it as dbt quotes it.
        parts = (raw.get("database"), raw.get("schema"), raw.get("alias") or name)
        relation = ".".join(_quote(str(p)) for p in parts if p)
    declared = {
        str(col.get("name") or key): str(col["data_type"])
        for key, col in _mapping(raw.get("columns")).items()
        if isinstance(col, dict) and col.get("data_type")
    }
    return DbtNode(
        unique_id=str(raw.get("unique_id", name)),
        name=name,
        package=str(raw.get("package_name", "")),
        resource_type=str(raw["resource_type"]),
        relation=relation or None,
        materialized=materialized,
        version=_version_str(raw.get("version")),
        latest_version=_version_str(raw.get("latest_version")),
        declared_columns=declared,
    )


def _read_catalog(path: Path) -> dict[str, dict[str, str]]:
    hint = "re-run `dbt docs generate`, or delete the file to use the manifest's declared types"
    catalog = _read_json(path, hint)
    nodes = catalog.get("nodes")
    if not isinstance(nodes, dict):
        raise ConfigError("dbt catalog has no 'nodes' object", file=path, hint=hint)
    result: dict[str, dict[str, str]] = {}
    for unique_id, entry in nodes.items():
        cols: list[tuple[int, str, str]] = [
            (_int(c.get("index")), str(c.get("name") or key), str(c["type"]))
            for key, c in _mapping(_mapping(entry).get("columns")).items()
            if isinstance(c, dict) and c.get("type")
        ]
        cols.sort(key=lambda item: item[0])  # stable: ties keep the file's order
        result[str(unique_id)] = {name: type_ for _, name, type_ in cols}
    return result


def _read_json(path: Path, hint: str) -> dict[str, Any]:
    try:
        data = orjson.loads(project_files.read_bytes(path, max_bytes=None))
    except OSError as exc:
        raise ConfigError(f"cannot read {path.name}: {exc.strerror or exc}", file=path) from None
    except orjson.JSONDecodeError as exc:
        raise ConfigError(
            f"{path.name} is not valid JSON: {exc.msg}", file=path, line=exc.lineno, hint=hint
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name} is not a JSON object", file=path, hint=hint)
    return data


def _schema_version(metadata: Mapping[str, Any], kind: str, path: Path) -> int:
    url = str(metadata.get("dbt_schema_version", ""))
    match = _SCHEMA_VERSION.search(url)
    if match is None or match.group(1) != kind:
        raise ConfigError(
            f"not a dbt {kind}: metadata.dbt_schema_version is {url or 'missing'}",
            file=path,
            hint=_REBUILD_HINT,
        )
    return int(match.group(2))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _version_str(value: Any) -> str | None:
    # dbt keeps a model version as the YAML wrote it: 2, "2" and 2.0 all name version 2.
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _version_key(version: str | None) -> tuple[float, str]:
    try:
        return (float(version or ""), version or "")
    except ValueError:
        return (float("-inf"), version or "")


def _quote(part: str) -> str:
    return '"' + part.replace('"', '""') + '"'
