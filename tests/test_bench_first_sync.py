"""bench/first_sync.py measures the package as an install has it: compiled to bytecode."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load_first_sync() -> ModuleType:
    spec = importlib.util.spec_from_file_location("retl_bench_first_sync", BENCH / "first_sync.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_is_compiled_even_where_bytecode_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "retl_probe_pkg"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text("X = 1\n")
    (package / "inner" / "__init__.py").write_text("")
    (package / "inner" / "mod.py").write_text("Y = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # PYTHONDONTWRITEBYTECODE=1

    folder = _load_first_sync().compile_package("retl_probe_pkg")

    assert folder == package
    tag = sys.implementation.cache_tag
    assert (package / "__pycache__" / f"__init__.{tag}.pyc").is_file()
    assert (package / "inner" / "__pycache__" / f"mod.{tag}.pyc").is_file()
    assert "retl_probe_pkg" not in sys.modules  # found, not imported


def test_a_package_that_is_not_importable_is_named() -> None:
    with pytest.raises(SystemExit, match="retl_no_such_pkg is not importable"):
        _load_first_sync().compile_package("retl_no_such_pkg")
