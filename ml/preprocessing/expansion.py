"""BigQuery ML's feature expansion: TIMESTAMP, STRUCT and ARRAY inputs become plain columns, which
the automatic preprocessing (`ml.preprocessing`) then encodes by their own types.

- TIMESTAMP (for the model types that ask for it: BigQuery's linear models): `<col>` becomes the
  unix seconds (numeric: standardized, NULL -> training mean), plus the one-hot components
  `_TS_DOM_<col>` (day of month), `_TS_DOW_<col>` (day of week, 1 = Sunday), `_TS_MOY_<col>`
  (month), `_TS_HOD_<col>` (hour), `_TS_MOH_<col>` (minute), `_TS_WOY_<col>` (week of year, weeks
  begin on Sunday) and `_TS_YEAR_<col>`, all in UTC. DuckDB's TIMESTAMP counts as BigQuery's
  TIMESTAMP: it is what a TIMESTAMP column of a seed or table becomes on the DuckDB target.
- STRUCT: each field becomes `<struct>_<field>`, expanded again by its own type; a nested STRUCT is
  an error, as in BigQuery.
- ARRAY of non-numeric values: multi-hot, one 0/1 indicator `<col>_<value>` per element value seen
  in the training split (unseen values, NULL elements and a NULL array count as absent).
- ARRAY of numbers or of STRUCTs: BigQuery applies no transformation; the local engine refuses them
  with an error naming the column.

The expansion is a select list over the columns it reads, so training (over the training query) and
prediction (inside the templates, over their input) compute exactly the same columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import duckdb

from ml.errors import MLError
from ml.names import quote_ident, quote_string
from ml.preprocessing.automatic import Feature, NumericFeature, is_numeric_type, make_features

Query = Callable[[str], list[tuple]]

_TIMESTAMP = re.compile(r"^TIMESTAMP(_S|_MS|_NS| WITH TIME ZONE)?$")
# Processed-feature prefix -> DuckDB expression of the component over a UTC timestamp `{ts}`.
TIMESTAMP_PARTS = (
    ("_TS_DOM_", "dayofmonth({ts})"),
    # DuckDB counts Sunday as 0, BigQuery's EXTRACT(DAYOFWEEK) as 1.
    ("_TS_DOW_", "dayofweek({ts}) + 1"),
    ("_TS_MOY_", "month({ts})"),
    ("_TS_HOD_", "hour({ts})"),
    ("_TS_MOH_", "minute({ts})"),
    # %U: weeks begin on Sunday, days before the first Sunday are week 0, as EXTRACT(WEEK).
    ("_TS_WOY_", "CAST(strftime({ts}, '%U') AS INTEGER)"),
    ("_TS_YEAR_", "year({ts})"),
)


@dataclass(frozen=True)
class Expanded:
    """One column after expansion and how to compute it from an input column.

    kind: `value` (the input value itself, or a STRUCT field of it), `unix_seconds`, `part`
    (`detail` is the TIMESTAMP_PARTS expression), `contains` (`detail` is the element value; None
    until the training vocabulary is known).
    """

    name: str
    duck_type: str
    column: str
    path: tuple[str, ...] = ()
    kind: str = "value"
    source_type: str = ""
    detail: str | None = None

    @property
    def is_identity(self) -> bool:
        """The input column itself: nothing to compute."""
        return self.kind == "value" and not self.path

    def value_sql(self, refs: dict[str, str]) -> str:
        """The value it is computed from: the input column, or a STRUCT field of it."""
        value = refs[self.column]
        for field_name in self.path:
            value = f"struct_extract({value}, {quote_string(field_name)})"
        return value

    def sql(self, refs: dict[str, str]) -> str:
        value = self.value_sql(refs)
        if self.kind == "value":
            return value
        if self.kind == "unix_seconds":
            return f"CAST(epoch({value}) AS DOUBLE)"
        if self.kind == "part":
            utc = f"timezone('UTC', {value})" if "TIME ZONE" in self.source_type else value
            return f"CAST({self.detail.format(ts=utc)} AS VARCHAR)"
        found = f"list_contains({_as_text_list(value, self.source_type)}, {quote_string(self.detail)})"
        return f"CAST(COALESCE({found}, FALSE) AS DOUBLE)"


class FeatureExpansion:
    """The expanded feature columns of a model's inputs (post-TRANSFORM columns)."""

    def __init__(self, inputs: list[str], columns: list[Expanded], reserved: Sequence[str] = ()) -> None:
        self.inputs = inputs
        self.columns = columns
        self.reserved = list(reserved)

    @classmethod
    def plan(
        cls, column_types: Sequence[tuple[str, str]], timestamps: bool, reserved: Sequence[str] = ()
    ) -> FeatureExpansion:
        """Expand every input column (TIMESTAMPs too when `timestamps`); multi-hot columns wait for
        `fit`. `reserved`: other columns of the training relation (label, split column), which
        expanded names must not take."""
        columns: list[Expanded] = []
        for name, duck_type in column_types:
            columns += _expand(name, name, (), duck_type, timestamps)
        expansion = cls([name for name, _ in column_types], columns, reserved)
        expansion._check_names()
        return expansion

    @property
    def active(self) -> bool:
        return any(not c.is_identity for c in self.columns)

    def fit(self, relation_sql: str, query: Query) -> FeatureExpansion:
        """Learn each multi-hot column's vocabulary from the training rows of `relation_sql`."""
        refs = {name: quote_ident(name) for name in self.inputs}
        columns: list[Expanded] = []
        for column in self.columns:
            if column.kind != "contains":
                columns.append(column)
                continue
            array = column.value_sql(refs)
            rows = query(
                f"SELECT DISTINCT __ml_v FROM (SELECT unnest({_as_text_list(array, column.source_type)}) "
                f"AS __ml_v FROM ({relation_sql}) AS __ml_rel) AS __ml_e WHERE __ml_v IS NOT NULL ORDER BY 1"
            )
            columns += [replace(column, name=f"{column.name}_{v}", detail=v) for (v,) in rows]
        self.columns = columns
        self._check_names()
        return self

    def features(self) -> list[Feature]:
        """The preprocessing's features: multi-hot indicators enter as 0/1, like one-hot columns."""
        features = make_features([(c.name, c.duck_type) for c in self.columns])
        indicators = {c.name for c in self.columns if c.kind == "contains"}
        for feature in features:
            if isinstance(feature, NumericFeature) and feature.name in indicators:
                feature.scaled = False
        return features

    def select_list(self, refs: dict[str, str]) -> list[tuple[str, str]]:
        """(name, SQL) of every computed column, over the input columns' references `refs`."""
        return [(c.name, c.sql(refs)) for c in self.columns if not c.is_identity]

    def apply(self, relation_sql: str) -> str:
        """The training relation with its expanded inputs replaced by their expanded columns."""
        if not self.active:
            return relation_sql
        refs = {name: quote_ident(name) for name in self.inputs}
        kept = {c.column for c in self.columns if c.is_identity}
        replaced = ", ".join(quote_ident(n) for n in self.inputs if n not in kept)
        computed = ", ".join(f"{sql} AS {quote_ident(name)}" for name, sql in self.select_list(refs))
        return f"SELECT * EXCLUDE ({replaced}), {computed} FROM ({relation_sql}) AS __ml_fxr"

    def state(self) -> list[dict]:
        return [asdict(c) for c in self.columns if not c.is_identity]

    def _check_names(self) -> None:
        seen = {r.lower() for r in self.reserved}
        for column in self.columns:
            if column.name.lower() in seen:
                raise MLError(
                    f"Feature {column.name} (expanded from column {column.column}) clashes with another "
                    f"column of the training data; rename one of them"
                )
            seen.add(column.name.lower())


def _expand(
    name: str, column: str, path: tuple[str, ...], duck_type: str, timestamps: bool
) -> list[Expanded]:
    """The expanded columns of one value of type `duck_type`, named `name`."""
    if timestamps and _TIMESTAMP.match(duck_type):
        return [
            Expanded(name, "DOUBLE", column, path, "unix_seconds", duck_type),
            *(
                Expanded(f"{prefix}{name}", "VARCHAR", column, path, "part", duck_type, part)
                for prefix, part in TIMESTAMP_PARTS
            ),
        ]
    kind = _type_id(duck_type)
    if kind == "struct":
        if path:
            raise MLError(
                f"Feature column {column} has a nested STRUCT ({name}); BigQuery ML does not expand "
                f"nested STRUCTs"
            )
        fields = duckdb.sqltype(duck_type).children
        return [
            e
            for field_name, field_type in fields
            for e in _expand(f"{name}_{field_name}", column, (*path, field_name), str(field_type), timestamps)
        ]
    if kind in ("list", "array"):
        element = str(duckdb.sqltype(duck_type).children[0][1])
        if is_numeric_type(element) or _type_id(element) in ("struct", "list", "array"):
            raise MLError(
                f"Feature column {column} has type {duck_type}: BigQuery ML multi-hot encodes ARRAYs of "
                f"non-numeric values only; the local engine does not support ARRAYs of numbers or STRUCTs"
            )
        return [Expanded(name, "DOUBLE", column, path, "contains", duck_type)]
    return [Expanded(name, duck_type, column, path)]


def _type_id(duck_type: str) -> str:
    if not duck_type.endswith((")", "]")):
        return "scalar"
    try:
        return duckdb.sqltype(duck_type).id
    except duckdb.Error:
        return "scalar"


def _as_text_list(array_sql: str, array_type: str) -> str:
    """The array as VARCHAR[]: vocabularies and membership tests compare element text."""
    return array_sql if array_type == "VARCHAR[]" else f"CAST({array_sql} AS VARCHAR[])"
