"""A config file from a pull request cannot exhaust the machine that checks it: YAML aliases
that expand to millions of values, recursive aliases and deep nesting are refused, located."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.config.yaml_loader import MAX_EXPANDED_NODES, parse_yaml
from reverse_etl.errors import ConfigError


def _alias_bomb(levels: int) -> str:
    """``levels`` lines, each an anchor of nine aliases of the one before: 9**levels values."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _merge_bomb(levels: int) -> str:
    """Merge keys that double at each level: 2**levels pairs once flattened."""
    lines = ["m0: &m0 {k: 1}"]
    lines += [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: 1}}" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("aliases", _alias_bomb(7)),  # 236 bytes, 4.8 million values
        ("merge keys", _merge_bomb(40)),
    ],
)
def test_an_alias_bomb_is_refused_before_it_is_built(name, text):
    assert len(text) < 1500
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, Path("destinations.yml"))
    (problem,) = caught.value.problems
    assert f"more than {MAX_EXPANDED_NODES:,} values through YAML aliases" in problem.message
    assert problem.file == Path("destinations.yml")
    assert problem.line is not None
    assert "write the values out" in (problem.hint or "")


def test_a_recursive_alias_is_refused():
    with pytest.raises(ConfigError) as caught:
        parse_yaml("destinations: &d\n  shop: [*d]\n", Path("destinations.yml"))
    assert "refers to the node that contains it" in caught.value.message


def test_deep_nesting_is_refused():
    with pytest.raises(ConfigError) as caught:
        parse_yaml("a: " + "[" * 3000 + "]" * 3000 + "\n", Path("destinations.yml"))
    assert "nested too deeply" in caught.value.message


def test_ordinary_aliases_and_merges_still_work():
    loaded = parse_yaml(
        "base: &base {type: tiktok_events, event_data_source: WEB}\n"
        "destinations:\n  a: {<<: *base, model: m}\n  b: {<<: *base, model: n}\n",
        Path("destinations.yml"),
    )
    assert loaded.data["destinations"]["b"] == {
        "type": "tiktok_events",
        "event_data_source": "WEB",
        "model": "n",
    }


@pytest.mark.parametrize("file", ["destinations.yml", "retl_project.yml"])
def test_the_cli_refuses_a_bomb_with_one_located_error(tmp_path, make_project, cli, file):
    files = {"models/m.sql": "select 1 as event_id", "destinations.yml": "destinations: {}\n"}
    files[file] = _alias_bomb(7)
    root = make_project(tmp_path, files)
    result = cli("validate", "--project-dir", root)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert f"{file}:6" in out  # the first anchor past the limit
    assert "YAML aliases" in out
    assert "Traceback" not in out


def test_a_big_file_without_aliases_is_no_bomb():
    # a dbt project's models/schema.yml of thousands of models: refused as "expands through
    # YAML aliases" (it has none), every retl command failed
    text = "models:\n" + "".join(f"  - {{name: m{i}}}\n" for i in range(40_000))
    loaded = parse_yaml(text, Path("models/schema.yml"))
    assert len(loaded.data["models"]) == 40_000
