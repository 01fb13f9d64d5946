"""BigQuery ML's automatic preprocessing: numeric features standardized (NULL -> training mean),
categorical features one-hot encoded (NULL is a category of its own, unseen values get no weight).

Statistics are learned with DuckDB aggregates over the training rows; `encode` turns Arrow batches
into design-matrix blocks for the numeric fit, and `numeric_sql` / `categorical_case` write the same
encoding as SQL for the prediction templates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ml.errors import MLError
from ml.literals import float_literal, sql_literal
from ml.names import quote_ident

_NUMERIC = re.compile(r"^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL.*)$")
_CATEGORICAL = re.compile(r"^(VARCHAR|BOOLEAN|DATE|TIME|TIMESTAMP.*|UUID|BLOB)$")

Query = Callable[[str], list[tuple]]


def is_numeric_type(duck_type: str) -> bool:
    """Whether a DuckDB column type is a BigQuery numeric (INT64, NUMERIC, FLOAT64) feature."""
    return bool(_NUMERIC.match(duck_type))


@dataclass
class NumericFeature:
    """A numeric input and its training statistics."""

    name: str
    duck_type: str
    mean: float = 0.0
    stddev: float = 1.0
    min: float | None = None
    max: float | None = None
    median: float | None = None
    null_count: int = 0
    # False for multi-hot indicators (ml.preprocessing.expansion): 0/1 like one-hot columns, never scaled.
    scaled: bool = True


@dataclass
class CategoricalFeature:
    """A categorical input and its training vocabulary (None stands for NULL)."""

    name: str
    duck_type: str
    categories: list[str | None] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    dropped: str | None = None  # DUMMY_ENCODING: the most frequent category, weight 0

    @property
    def null_count(self) -> int:
        return self.counts[self.categories.index(None)] if None in self.categories else 0

    @property
    def encoded(self) -> list[str | None]:
        """Categories that get a column of their own in the design matrix."""
        return [c for c in self.categories if not (self.dropped is not None and c == self.dropped)]


Feature = NumericFeature | CategoricalFeature


def make_features(column_types: Sequence[tuple[str, str]]) -> list[Feature]:
    """Classify feature columns by their DuckDB type."""
    features: list[Feature] = []
    for name, duck_type in column_types:
        if is_numeric_type(duck_type):
            features.append(NumericFeature(name, duck_type))
        elif _CATEGORICAL.match(duck_type):
            features.append(CategoricalFeature(name, duck_type))
        else:
            raise MLError(f"Feature column {name} has unsupported type {duck_type}")
    if not features:
        raise MLError("The training data has no feature columns")
    return features


class Preprocessor:
    """Learns and applies the automatic preprocessing of a list of features.

    Parameters
    ----------
    features : list of NumericFeature | CategoricalFeature
        The model's inputs, in column order.
    standardize : bool
        Center and scale numeric features (GLMs always; k-means per standardize_features).
    dummy_encoding : bool
        Drop the most frequent category of each categorical feature (DUMMY_ENCODING).
    """

    def __init__(
        self, features: list[Feature], standardize: bool = True, dummy_encoding: bool = False
    ) -> None:
        self.features = features
        self.standardize = standardize
        self.dummy_encoding = dummy_encoding

    @property
    def numeric(self) -> list[NumericFeature]:
        return [f for f in self.features if isinstance(f, NumericFeature)]

    @property
    def categorical(self) -> list[CategoricalFeature]:
        return [f for f in self.features if isinstance(f, CategoricalFeature)]

    def fit(self, relation_sql: str, query: Query) -> Preprocessor:
        """Learn statistics from the rows of `relation_sql` (the training split)."""
        self._fit_numeric(relation_sql, query)
        for feature in self.categorical:
            ref = _as_text(quote_ident(feature.name), feature.duck_type)
            rows = query(
                f"SELECT {ref} AS v, count(*) FROM ({relation_sql}) AS __ml_rel "
                f"GROUP BY 1 ORDER BY 1 NULLS LAST"
            )
            feature.categories = [r[0] for r in rows]
            feature.counts = [int(r[1]) for r in rows]
            if self.dummy_encoding and rows:
                feature.dropped = max(
                    zip(feature.counts, feature.categories, strict=True),
                    key=lambda cc: (cc[0], cc[1] is not None),
                )[1]
        return self

    def _fit_numeric(self, relation_sql: str, query: Query) -> None:
        if not self.numeric:
            return
        aggregates = []
        for feature in self.numeric:
            x = quote_ident(feature.name)
            aggregates += [
                f"avg({x})",
                f"stddev_samp({x})",
                f"min({x})",
                f"max({x})",
                f"quantile_cont({x}, 0.5)",
                f"count(*) - count({x})",
            ]
        row = query(f"SELECT {', '.join(aggregates)} FROM ({relation_sql}) AS __ml_rel")[0]
        for i, feature in enumerate(self.numeric):
            mean, std, low, high, median, nulls = row[6 * i : 6 * i + 6]
            feature.mean = float(mean) if mean is not None else 0.0
            # A constant (or single-row) column cannot be scaled: it becomes all zeros instead.
            feature.stddev = float(std) if std else 1.0
            feature.min, feature.max = _float(low), _float(high)
            feature.median = _float(median)
            feature.null_count = int(nulls)
            if not feature.scaled:
                feature.mean, feature.stddev = 0.0, 1.0

    def empty_features(self) -> list[Feature]:
        """Features NULL on every training row (after `fit`)."""
        return [
            f
            for f in self.features
            if (f.min is None if isinstance(f, NumericFeature) else all(c is None for c in f.categories))
        ]

    def varying_features(self) -> list[Feature]:
        """Features with at least two values over the training rows (after `fit`)."""
        return [
            f
            for f in self.features
            if (f.min != f.max if isinstance(f, NumericFeature) else len(f.categories) > 1)
        ]

    @property
    def processed_names(self) -> list[str]:
        """Design-matrix column names: numeric features, then `feature_category` indicators."""
        names = [f.name for f in self.numeric]
        for feature in self.categorical:
            names += [f"{feature.name}_{c}" for c in feature.encoded]
        return names

    @property
    def width(self) -> int:
        return len(self.numeric) + sum(len(f.encoded) for f in self.categorical)

    def select_list(self) -> str:
        """Columns to fetch for `encode`: numerics as DOUBLE, categoricals as VARCHAR."""
        parts = [f"CAST({quote_ident(f.name)} AS DOUBLE)" for f in self.numeric]
        parts += [_as_text(quote_ident(f.name), f.duck_type) for f in self.categorical]
        return ", ".join(parts)

    def encode(self, batch: pa.RecordBatch, out: np.ndarray | None = None) -> np.ndarray:
        """Design-matrix block for a batch fetched with `select_list` (extra columns ignored),
        written into `out` (zeros, shape (rows, width)) when given."""
        n = batch.num_rows
        design = np.zeros((n, self.width)) if out is None else out
        for j, feature in enumerate(self.numeric):
            values = batch.column(j).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
            values = np.where(np.isnan(values), feature.mean, values)
            design[:, j] = (values - feature.mean) / feature.stddev if self.standardize else values
        offset = len(self.numeric)
        for k, feature in enumerate(self.categorical):
            column = batch.column(len(self.numeric) + k)
            encoded = feature.encoded
            known = [c for c in encoded if c is not None]
            index = pc.index_in(column, value_set=pa.array(known, pa.string())).to_numpy(zero_copy_only=False)
            index = np.where(np.isnan(index.astype(np.float64)), -1, index).astype(np.int64)
            if None in encoded:
                index[pc.is_null(column).to_numpy(zero_copy_only=False)] = encoded.index(None)
            # Categories keep their sorted order; NULL (if present) is last, matching `encoded`.
            rows = np.nonzero(index >= 0)[0]
            design[rows, offset + index[rows]] = 1.0
            offset += len(encoded)
        return design

    def numeric_sql(self, feature: NumericFeature, ref: str) -> str:
        """The processed value of a numeric feature in SQL."""
        value = f"COALESCE({ref}, {float_literal(feature.mean)})"
        if not self.standardize:
            return value
        return f"(({value} - {float_literal(feature.mean)}) / {float_literal(feature.stddev)})"


def categorical_case(
    feature: CategoricalFeature, ref: str, values: Sequence[float], default: float = 0.0
) -> str:
    """`CASE` giving `values[i]` for category `feature.encoded[i]`, `default` for unseen ones."""
    text = _as_text(ref, feature.duck_type)
    branches = [
        f"WHEN {sql_literal(c)} THEN {float_literal(v)}"
        for c, v in zip(feature.encoded, values, strict=True)
        if c is not None
    ]
    null_value = next((v for c, v in zip(feature.encoded, values, strict=True) if c is None), default)
    if not branches:
        return f"CASE WHEN {ref} IS NULL THEN {float_literal(null_value)} ELSE {float_literal(default)} END"
    body = f"CASE {text} {' '.join(branches)} ELSE {float_literal(default)} END"
    if null_value == default:
        return body
    return f"CASE WHEN {ref} IS NULL THEN {float_literal(null_value)} ELSE {body} END"


def _as_text(ref: str, duck_type: str) -> str:
    return ref if duck_type == "VARCHAR" else f"CAST({ref} AS VARCHAR)"


def _float(value: object) -> float | None:
    return None if value is None else float(value)
