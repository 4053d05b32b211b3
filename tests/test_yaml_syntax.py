"""A YAML syntax error names the line to fix and how, not only where PyYAML noticed it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.config.yaml_loader import parse_yaml
from reverse_etl.errors import ConfigError

PATH = Path("destinations.yml")


def problem_of(text: str) -> tuple[int | None, str, str | None]:
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, PATH)
    (problem,) = caught.value.problems
    return problem.line, problem.message, problem.hint


def test_an_unclosed_bracket_is_reported_on_the_line_that_opens_it() -> None:
    line, message, hint = problem_of("a:\n  model: [orders\n  # a comment\n  b: 1\n")
    assert line == 2
    assert message.startswith("YAML syntax error: a '[' is not closed")
    assert "on line 4" in message and hint == "close the '[' on that line"


def test_an_unclosed_brace_and_quote_are_reported_where_they_open() -> None:
    assert problem_of("a:\n  b: {x: 1\n  c: 3\n")[0:2] == (
        2,
        "YAML syntax error: a '{' is not closed (expected ',' or '}', but got ':' on line 3)",
    )
    line, message, _ = problem_of("a:\n  b: 'x\n  c: 3\n")
    assert (line, message.split(" (")[0]) == (2, "YAML syntax error: a quote is not closed")


def test_a_key_without_its_colon_is_reported_on_its_own_line() -> None:
    line, message, hint = problem_of("a:\n  b: 1\n  thread_count 5\n  c: 3\n")
    assert line == 3
    assert message.startswith("YAML syntax error: a key has no ':'")
    assert hint == "write 'key: value' on that line"


@pytest.mark.parametrize(
    ("text", "line", "other"),
    [
        ("d:\n  t:\n    a: 1\n  b: 2\n    # note\n    c: 3\n", 6, 4),  # a key indented less
        ("d:\n  t:\n    a: 1\n    # note\n     b: 2\n", 5, 3),  # a key indented more
    ],
)
def test_misaligned_keys_name_both_lines(text: str, line: int, other: int) -> None:
    found, message, hint = problem_of(text)
    assert found == line
    assert message == (
        f"YAML syntax error: indentation: this line and line {other} above it do not line up"
    )
    assert hint == "indent sibling keys by the same number of spaces"


def test_a_tab_says_to_indent_with_spaces() -> None:
    line, message, hint = problem_of("a:\n\tb: 1\n")
    assert line == 2 and "'\\t'" in message
    assert hint == "indent with spaces: YAML does not allow tabs there"


def test_a_missing_comma_inside_closed_brackets_is_not_an_unclosed_bracket() -> None:
    # The '[' / '{' is closed on its own line: PyYAML found two items without a ',' between.
    for text, bracket in (
        ('events: ["Purchase" "AddToCart"]\n', "["),
        ("params: {value: 1 currency: USD}\n", "{"),
    ):
        line, message, hint = problem_of(text)
        assert line == 1
        assert "not closed" not in message and "close the" not in (hint or "")
        assert f"a ',' is missing between the items of the '{bracket}'" in message
    # an unclosed one at the end of a file without a newline is still one
    for text in ("a: [1, 2", "a: {x: [1, 2}\n"):
        line, message, hint = problem_of(text)
        assert (line, hint) == (1, "close the '[' on that line") and "not closed" in message
