"""Token-level helpers over sqlglot's BigQuery tokenizer (positions are inclusive offsets)."""

from __future__ import annotations

from sqlglot.dialects.bigquery import BigQuery
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ml.errors import MLError

_DIALECT = BigQuery()


def tokenize(sql: str) -> list[Token]:
    """Tokenize BigQuery SQL; an unterminated string or comment is a syntax error."""
    try:
        return _DIALECT.tokenize(sql)
    except TokenError as exc:
        raise MLError(f"Syntax error: {exc}") from exc


def split_statements(sql: str) -> list[str]:
    """Split a script on top-level `;` (semicolons inside strings and comments do not count)."""
    statements, start = [], 0
    for token in tokenize(sql):
        if token.token_type == TokenType.SEMICOLON:
            statements.append(sql[start : token.start])
            start = token.end + 1
    statements.append(sql[start:])
    return [s.strip() for s in statements if s.strip()]


def matching_paren(tokens: list[Token], open_index: int) -> int:
    """Index of the `)` closing the `(` at `open_index`."""
    depth = 0
    for index in range(open_index, len(tokens)):
        kind = tokens[index].token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return index
    raise MLError("Syntax error: unbalanced parentheses")


def split_top_level(tokens: list[Token], start: int, end: int) -> list[tuple[int, int]]:
    """Split tokens[start:end] on commas outside brackets; returns (first, last+1) index pairs."""
    parts, depth, first = [], 0, start
    for index in range(start, end):
        kind = tokens[index].token_type
        if kind in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif kind in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth -= 1
        elif kind == TokenType.COMMA and depth == 0:
            parts.append((first, index))
            first = index + 1
    if first < end:
        parts.append((first, end))
    return parts


def is_word(token: Token, word: str) -> bool:
    """Whether `token` is the keyword or bare name `word` (case-insensitive, not a quoted name)."""
    return token.token_type != TokenType.IDENTIFIER and token.text.upper() == word


def text_between(sql: str, tokens: list[Token], first: int, last: int) -> str:
    """Source text from token `first` through token `last`, inclusive."""
    return sql[tokens[first].start : tokens[last].end + 1]


def read_path(tokens: list[Token], index: int) -> tuple[list[str], int]:
    """Read a dotted name starting at `index`; returns its parts and the index after it."""
    parts = []
    while True:
        if index >= len(tokens) or tokens[index].token_type in (TokenType.L_PAREN, TokenType.COMMA):
            raise MLError("Syntax error: expected a name")
        parts.append(tokens[index].text)
        index += 1
        if index < len(tokens) and tokens[index].token_type == TokenType.DOT:
            index += 1
            continue
        return parts, index
