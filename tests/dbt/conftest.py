"""The ``write_artifacts`` fixture: a dbt target/ directory with hand-written artifacts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

WriteArtifacts = Callable[..., Path]


@pytest.fixture
def write_artifacts(tmp_path: Path) -> WriteArtifacts:
    """Write manifest.json (and catalog.json if given) into ``tmp_path/target``."""

    def write(manifest: dict[str, Any] | str, catalog: dict[str, Any] | str | None = None) -> Path:
        target = tmp_path / "target"
        target.mkdir(exist_ok=True)
        for name, data in (("manifest.json", manifest), ("catalog.json", catalog)):
            if data is not None:
                text = data if isinstance(data, str) else json.dumps(data, indent=2)
                (target / name).write_text(text, encoding="utf-8")
        return target

    return write
