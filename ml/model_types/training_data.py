"""The training data a fit step receives: the prepared training relation in DuckDB (split marked,
TRANSFORM applied, TIMESTAMP / STRUCT / ARRAY inputs expanded), its label and features, and the
helpers every model type uses to read it. The engine prepares it (ml/engine/training.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ml.compile.evaluation import Classes
from ml.compile.layers import FeatureLayer
from ml.errors import MLError
from ml.estimators.logistic import MAX_CLASSES
from ml.names import quote_ident
from ml.preprocessing.automatic import Feature, Preprocessor, is_numeric_type
from ml.preprocessing.expansion import FeatureExpansion
from ml.preprocessing.transform import CompiledTransform

BATCH_ROWS = 1 << 17
# The largest magnitude a numeric training value may have: float32's, which XGBoost and PyTorch
# train in (beyond it a value is infinite there), and far below where float64 squares overflow.
MAX_MAGNITUDE = float(np.finfo(np.float32).max)
EXAMPLE_CHARACTERS = 300


@dataclass(frozen=True)
class TrainingData:
    """One CREATE MODEL statement's training data.

    - `source`: the training query in DuckDB SQL; `column_types` its columns.
    - `split_sql`: the query's rows with `__ml_is_eval` (the data split) appended.
    - `train_sql`: what the model trains on: `split_sql` after TRANSFORM and feature expansion.
    - `label`, `features`: the label column (None without one) and the automatic preprocessing's
      inputs (after TRANSFORM and expansion; none for time-series types).
    """

    con: duckdb.DuckDBPyConnection
    model_type: str
    options: dict[str, Any]
    source: str
    column_types: dict[str, str]
    label: str | None = None
    features: list[Feature] = field(default_factory=list)
    transform: CompiledTransform | None = None
    expansion: FeatureExpansion | None = None
    split_sql: str = ""
    train_sql: str = ""
    has_eval: bool = False

    def query(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def first(self, sql: str) -> tuple:
        return self.con.execute(sql).fetchall()[0]

    def rows(self, eval_rows: bool) -> str:
        """The training (or eval) split's rows of `train_sql`."""
        return f"SELECT * FROM ({self.train_sql}) AS __ml_t WHERE {'' if eval_rows else 'NOT '}__ml_is_eval"

    def training_input_rows(self) -> str:
        """The training split's rows as the query returned them (before any TRANSFORM)."""
        return f"SELECT * EXCLUDE (__ml_is_eval) FROM ({self.split_sql}) AS __ml_s WHERE NOT __ml_is_eval"

    @property
    def transform_items(self) -> list[tuple[str, str]] | None:
        return self.transform.items if self.transform else None

    def feature_layer(self) -> FeatureLayer:
        """How the prediction templates reference each feature in their input."""
        if self.expansion is None:
            return FeatureLayer.build([f.name for f in self.features], self.transform_items)
        return FeatureLayer.build(self.expansion.inputs, self.transform_items).expanded(self.expansion)

    def datasets(self, pre: Preprocessor, label_sql: str) -> tuple[SqlDataset, SqlDataset | None]:
        """Fit `pre` on the training split; the training and (if any) eval split as design matrices."""
        pre.fit(self.rows(False), self.query)
        train = SqlDataset(self.con, self.rows(False), pre, label_sql)
        evaluation = SqlDataset(self.con, self.rows(True), pre, label_sql) if self.has_eval else None
        return train, evaluation

    def refuse_extreme_values(self, columns: list[str], relation: str, what: str) -> None:
        """Refuse NaN, infinite or out-of-range values (beyond MAX_MAGNITUDE) in the numeric
        `columns` of `relation`, naming the first such column, its count of bad rows and an
        example row: one of them makes a fit's weights NaN, or crashes the booster library. NULL is fine (the
        preprocessing imputes it)."""
        if not columns:
            return
        bad = {c: _extreme(quote_ident(c)) for c in columns}
        counts = self.first(
            f"SELECT {', '.join(f'count(*) FILTER ({b})' for b in bad.values())} FROM ({relation}) AS __ml_v"
        )
        for (column, predicate), count in zip(bad.items(), counts, strict=True):
            if count:
                example = (
                    self.con.sql(f"SELECT * FROM ({relation}) AS __ml_v WHERE {predicate} LIMIT 1")
                    .to_arrow_table()
                    .to_pylist()[0]
                )
                example.pop("__ml_is_eval", None)
                rows = "row has" if count == 1 else "rows have"
                raise MLError(
                    f"{what} {column}: {count} {rows} a NaN, infinite or out-of-range value (beyond "
                    f"±{MAX_MAGNITUDE:.4g}); example row: {_one_line(example)}"
                )

    def numeric_label(self) -> str:
        """The label as a DOUBLE expression, after checking that it is numeric and finite."""
        label = quote_ident(self.label)
        kind = self.model_type.lower()
        if not is_numeric_type(self.column_types[self.label]):
            raise MLError(
                f"Label column {self.label} has type {self.column_types[self.label]}; {kind} needs a "
                f"numeric label"
            )
        bad = self.first(
            f"SELECT count(*) FROM ({self.source}) AS __ml_src WHERE {label} IS NULL OR {_extreme(label)}"
        )[0]
        if bad:
            raise MLError(
                f"Label column {self.label} has {bad} NULL, NaN, infinite or out-of-range values "
                f"(beyond ±{MAX_MAGNITUDE:.4g}); {kind} requires finite labels"
            )
        return f"CAST({label} AS DOUBLE)"

    def class_labels(self, kind: str) -> tuple[Classes, str]:
        """The label's classes (ascending) and a SQL expression giving each row's class index."""
        label = quote_ident(self.label)
        nulls = self.first(f"SELECT count(*) FROM ({self.source}) AS __ml_src WHERE {label} IS NULL")[0]
        if nulls:
            raise MLError(f"Label column {self.label} has {nulls} NULL values")
        values = [
            r[0]
            for r in self.query(
                f"SELECT DISTINCT {label} FROM ({self.source}) AS __ml_src ORDER BY 1 LIMIT {MAX_CLASSES + 1}"
            )
        ]
        if len(values) < 2:
            raise MLError(
                f"{kind} requires at least 2 unique labels, but the label column "
                f"{self.label} had {len(values)} unique label"
            )
        classes = Classes(self.label, self.column_types[self.label], values)
        index = " ".join(f"WHEN {classes.literal(k)} THEN {k}" for k in range(len(values)))
        return classes, f"CASE {label} {index} END"


def refuse_empty_features(pre: Preprocessor, model_type: str) -> None:
    """A model type that measures distances or variance cannot use a feature that is always NULL:
    its imputed value is one constant (kmeans, pca; the linear models just give it no weight)."""
    empty = pre.empty_features()
    if empty:
        raise MLError(
            f"Feature column {empty[0].name} is NULL on every training row: {model_type.lower()} cannot use "
            "it; leave it out of the training query"
        )


def _extreme(column: str) -> str:
    """SQL: the numeric `column` holds NaN, an infinity or a value beyond MAX_MAGNITUDE."""
    value = f"CAST({column} AS DOUBLE)"
    return f"(NOT isfinite({value}) OR abs({value}) > {MAX_MAGNITUDE!r})"


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _one_line(row: dict[str, Any]) -> str:
    text = ", ".join(f"{name}={_shown(value)}" for name, value in row.items())
    return text if len(text) <= EXAMPLE_CHARACTERS else text[: EXAMPLE_CHARACTERS - 3] + "..."


def label_text(value: Any) -> str:
    """A class label as class_weights and ML.WEIGHTS name it."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


class SqlDataset:
    """A `Dataset` streaming design-matrix batches out of a DuckDB relation."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, relation: str, pre: Preprocessor, label_sql: str
    ) -> None:
        self.con, self.relation, self.pre, self.label_sql = con, relation, pre, label_sql
        self.n_rows = con.execute(f"SELECT count(*) FROM ({relation}) AS __ml_rel").fetchall()[0][0]
        self.width = pre.width

    def _record_batches(self) -> Iterator[pa.RecordBatch]:
        sql = (
            f"SELECT {self.pre.select_list()}, {self.label_sql} AS __ml_y FROM ({self.relation}) AS __ml_rel"
        )
        yield from self.con.sql(sql).to_arrow_reader(BATCH_ROWS)

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for batch in self._record_batches():
            yield self.pre.encode(batch), batch.column(batch.num_columns - 1).to_numpy(zero_copy_only=False)

    def arrays(self, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
        # Batches are encoded straight into one preallocated matrix: no stacking copy, and a
        # float32 consumer (torch) gets its dtype without a float64 matrix in between.
        X = np.zeros((self.n_rows, self.width), dtype)
        labels = [np.zeros(0)]
        filled = 0
        for batch in self._record_batches():
            if filled + batch.num_rows > self.n_rows:
                raise MLError(f"The training query returned more rows than the {self.n_rows} it counted")
            self.pre.encode(batch, out=X[filled : filled + batch.num_rows])
            labels.append(batch.column(batch.num_columns - 1).to_numpy(zero_copy_only=False))
            filled += batch.num_rows
        return X[:filled], np.concatenate(labels)
