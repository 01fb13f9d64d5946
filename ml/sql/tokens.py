"""Token-level helpers over sqlglot's BigQuery tokenizer (positions are inclusive offsets)."""

from __future__ import annotations

from sqlglot.dialects.bigquery import BigQuery
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ml.errors import MLError

_DIALECT = BigQuery()


def tokenize(sql: str) -> list[Token]:
    """Tokenize BigQuery SQL; an unterminated string or comment is a syntax error saying where it
    starts (sqlglot's own message quotes the statement's last characters instead)."""
    try:
        return _DIALECT.tokenize(sql)
    except TokenError as exc:
        opening = unterminated(sql)
        if opening is None:
            raise MLError(f"Syntax error: {exc}") from exc
        what, offset = opening
        line, column = line_and_column(sql, offset)
        raise MLError(f"Syntax error: unterminated {what} starting at line {line}, column {column}") from None


_QUOTES = {"'": "string", '"': "string", "`": "quoted name"}


def unterminated(sql: str) -> tuple[str, int] | None:
    """The first string, quoted name or block comment of `sql` that never closes: (what, offset)."""
    index = 0
    while index < len(sql):
        char, pair = sql[index], sql[index : index + 2]
        if pair in ("--", "//") or char == "#":
            end = sql.find("\n", index)
            index = len(sql) if end < 0 else end + 1
        elif pair == "/*":
            end = sql.find("*/", index + 2)
            if end < 0:
                return "comment", index
            index = end + 2
        elif char in _QUOTES:
            end = _closing_quote(sql, index)
            if end is None:
                return _QUOTES[char], index
            index = end
        else:
            index += 1
    return None


def _closing_quote(sql: str, start: int) -> int | None:
    """The offset after the quote closing the one at `start` (triple quotes too), or None."""
    quote = sql[start] * 3 if sql[start] != "`" and sql.startswith(sql[start] * 3, start) else sql[start]
    index = start + len(quote)
    while index < len(sql):
        if sql[index] == "\\":
            index += 2
        elif sql.startswith(quote, index):
            return index + len(quote)
        elif sql[index] == "\n" and len(quote) == 1:
            return None  # BigQuery's one-quote strings end at their line
        else:
            index += 1
    return None


def line_and_column(sql: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = sql.count("\n", 0, offset) + 1
    return line, offset - (sql.rfind("\n", 0, offset) + 1) + 1


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
        if tokens[index].token_type == TokenType.STRING:
            # BigQuery reads "x" as a string: names are plain or `backticked`.
            raise MLError(
                f'Syntax error: "{tokens[index].text}" is a string, not a name: write names plain or '
                f"in backticks (`{tokens[index].text}`)"
            )
        parts.append(tokens[index].text)
        index += 1
        if index < len(tokens) and tokens[index].token_type == TokenType.DOT:
            index += 1
            continue
        return parts, index
