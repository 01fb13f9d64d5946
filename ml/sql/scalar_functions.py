"""BigQuery ML's scalar functions (`ML.DECODE_IMAGE(data)`, ...) renamed to the local engine's
DuckDB functions, on tokens, before sqlglot transpiles the query: sqlglot would read `ML.F(x)` as
a method call on a column `ML`. The functions themselves are the engine's business
(ml/engine/image_functions.py registers the image ones).
"""

from __future__ import annotations

from sqlglot.tokens import Token, TokenType

from ml.sql.tokens import is_word, tokenize

# BigQuery's name (after `ML.`) -> the DuckDB function the engine registers under that name.
SCALAR_FUNCTIONS = {
    "DECODE_IMAGE": "__ml_decode_image",
    "RESIZE_IMAGE": "__ml_resize_image",
}


def rename_scalar_functions(sql: str) -> str:
    """`sql` with each `ML.<name>(` of SCALAR_FUNCTIONS calling the local function instead."""
    tokens = tokenize(sql)
    pieces, last = [], 0
    for index in range(len(tokens) - 3):
        local = _local_name(tokens, index)
        if local is not None:
            pieces += [sql[last : tokens[index].start], local]
            last = tokens[index + 2].end + 1
    pieces.append(sql[last:])
    return "".join(pieces)


def _local_name(tokens: list[Token], i: int) -> str | None:
    """The local function `ML . NAME (` at token `i` calls, or None. Quoted names (`ML`.x) and
    longer paths (`project.ml.f(`: a persistent UDF in a dataset named ml) are not BigQuery ML's."""
    if i > 0 and tokens[i - 1].token_type == TokenType.DOT:
        return None
    if not (
        is_word(tokens[i], "ML")
        and tokens[i + 1].token_type == TokenType.DOT
        and tokens[i + 2].token_type != TokenType.IDENTIFIER
        and tokens[i + 3].token_type == TokenType.L_PAREN
    ):
        return None
    return SCALAR_FUNCTIONS.get(tokens[i + 2].text.upper())
