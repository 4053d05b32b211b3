"""A syntax error whose sqlglot description quotes a token says the token's text, not its
Python repr (``<Token token_type: TokenType.SENTINEL, text: SENTINEL, ...>``)."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot.errors import ParseError

from reverse_etl.columns.syntax import syntax_issue


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        ("select nope from", "expected table name but got the end of the query"),
        ("select a from ,", "expected table name but got ','"),
        ("select * from where", "expected table name but got 'where'"),
    ],
)
def test_a_token_is_said_as_its_text(sql: str, said: str) -> None:
    with pytest.raises(ParseError) as info:
        sqlglot.parse_one(sql, read="duckdb")
    issue = syntax_issue(info.value, sql, dialect="postgres")  # no DuckDB parse for the hint
    assert said in issue.message
    assert "<Token" not in issue.message and "TokenType" not in issue.message
