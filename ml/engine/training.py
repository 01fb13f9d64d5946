"""CREATE MODEL, from the training query to everything the model store keeps.

The query runs in DuckDB; the split, the TRANSFORM statistics and the preprocessing statistics are
DuckDB aggregates; the model type's fit step (ml/model_types) trains and compiles the model to SQL
templates; then the no-input forms of ML.EVALUATE & co. are computed once with those same
templates over the eval split, and ML.GLOBAL_EXPLAIN over the training split when asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np

from ml.compile.global_explain import global_explain_templates
from ml.compile.layers import UDF_VARIANT
from ml.compile.placeholders import INPUT, ROC_THRESHOLDS, THRESHOLD
from ml.engine import udfs
from ml.engine.model_checks import refuse_non_finite_model
from ml.engine.store import StoredModel
from ml.errors import MLError
from ml.literals import float_literal, values_relation
from ml.model_types import catalog
from ml.model_types.model_type import CLASSIFICATION, Fitted, ModelType
from ml.model_types.training_data import TrainingData
from ml.names import quote_ident
from ml.preprocessing.automatic import NumericFeature
from ml.preprocessing.expansion import FeatureExpansion
from ml.preprocessing.split import eval_predicate
from ml.preprocessing.transform import compile_transform
from ml.sql.statements import CreateModel

DEFAULT_THRESHOLD = 0.5


class Trainer:
    """Runs one CREATE MODEL statement (already validated options) up to a `StoredModel`."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        translate: Callable[[str], str],
        statement: CreateModel,
        options: dict[str, Any],
    ) -> None:
        self.con = con
        self.statement = statement
        self.options = options
        self.model_type: ModelType = catalog.model_type(options["model_type"])
        self.source = translate(statement.query)

    def first(self, sql: str) -> tuple:
        return self.con.execute(sql).fetchall()[0]

    def describe(self, sql: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.con.execute(f"DESCRIBE {sql}").fetchall()]

    def run(self) -> StoredModel:
        data = self.training_data()
        numeric = [f.name for f in data.features if isinstance(f, NumericFeature)]
        data.refuse_extreme_values(numeric, data.train_sql, "Feature column")
        # A fit that overflows is refused just below, in one line: numpy's warnings would only add lines.
        with np.errstate(all="ignore"):
            fitted = self.model_type.fit(data)
        refuse_non_finite_model(self.model_type.name, fitted)
        return self._stored(data, fitted)

    def training_data(self) -> TrainingData:
        """The training query prepared for the fit step: label found, split marked, TRANSFORM
        compiled and applied, feature columns expanded."""
        columns = self.describe(self.source)
        types = dict(columns)
        if self.model_type.reads_whole_query:
            return TrainingData(self.con, self.model_type.name, self.options, self.source, types)
        label = self._label_column(columns)
        column_options = (self.options.get(option) for option in self.model_type.column_options)
        passthrough = [c for c in (label, *column_options) if c]
        n_rows = self.first(f"SELECT count(*) FROM ({self.source}) AS __ml_src")[0]
        if n_rows == 0:
            raise MLError("The training data is empty")
        split = eval_predicate(self.options, n_rows, types, self.source, self.first) if label else None
        split_sql = f"SELECT __ml_src.*, {split or 'FALSE'} AS __ml_is_eval FROM ({self.source}) AS __ml_src"
        if split is not None:
            self._refuse_empty_training_split(split_sql, n_rows)
        transform = None
        if self.statement.transform is not None:
            transform = compile_transform(
                self.statement.transform, self.source, [c for c, _ in columns], passthrough, self.first
            )
            projections = [f"{expr} AS {quote_ident(name)}" for name, expr in transform.items]
            projections += [quote_ident(c) for c in passthrough] + ["__ml_is_eval"]
            train_sql = f"SELECT {', '.join(projections)} FROM ({split_sql}) AS __ml_src"
            outputs = dict(transform.items)
            feature_columns = [(n, t) for n, t in self.describe(train_sql) if n in outputs]
        else:
            train_sql = split_sql
            lowered = {p.lower() for p in passthrough}
            feature_columns = [(n, t) for n, t in columns if n.lower() not in lowered]
        expansion = FeatureExpansion.plan(feature_columns, self.model_type.expands_timestamps, passthrough)
        expansion.fit(f"SELECT * FROM ({train_sql}) AS __ml_t WHERE NOT __ml_is_eval", self._query)
        return TrainingData(
            self.con,
            self.model_type.name,
            self.options,
            self.source,
            types,
            label=label,
            features=expansion.features(),
            transform=transform,
            expansion=expansion,
            split_sql=split_sql,
            train_sql=expansion.apply(train_sql),
            has_eval=split is not None,
        )

    def _refuse_empty_training_split(self, split_sql: str, n_rows: int) -> None:
        """The data split must leave rows to train on (an eval fraction of 1.0, a split column
        that is TRUE everywhere): refused naming the option, before anything is fitted."""
        counted = f"SELECT count(*) FILTER (NOT __ml_is_eval) FROM ({split_sql}) AS __ml_s"
        (training_rows,) = self.first(counted)
        if training_rows:
            return
        method = self.options["data_split_method"]
        if method == "CUSTOM":
            raise MLError(
                f"Invalid value for option data_split_col: {self.options['data_split_col']} is TRUE or NULL "
                f"on all {n_rows} rows, so every row is an eval row and none is left to train on"
            )
        raise MLError(
            f"Invalid value for option data_split_eval_fraction: {self.options['data_split_eval_fraction']} "
            f"of {n_rows} rows leaves no row to train on (data_split_method {method})"
        )

    def _query(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def _label_column(self, columns: list[tuple[str, str]]) -> str | None:
        if not self.model_type.supervised:
            return None
        wanted = self.options["input_label_cols"][0]
        match = [name for name, _ in columns if name.lower() == wanted.lower()]
        if not match:
            raise MLError(
                f"Label column {wanted} not found in the training data: input_label_cols names a "
                f"column the query does not return"
            )
        return match[0]

    def _stored(self, data: TrainingData, fitted: Fitted) -> StoredModel:
        self._ready_udfs(fitted)
        templates = {("predict", True): fitted.scoring.predict_sql()} if fitted.scoring else {}
        eval_input = (
            f"(SELECT * EXCLUDE (__ml_is_eval) FROM ({data.split_sql}) AS __ml_s "
            f"{'WHERE __ml_is_eval' if data.has_eval else ''})"
        )
        for function, sql in fitted.input_templates.items():
            templates[(function, True)] = sql
            # Without input, BigQuery answers from the eval split seen at training: computed now,
            # by the faster `_udf` variant when the model has one (the same numbers).
            fastest = fitted.input_only_templates.get(UDF_VARIANT.format(function), sql)
            templates[(function, False)] = self._snapshot(with_defaults(fastest, eval_input))
        for function, sql in {**fitted.fixed_templates, **self._global_explain(data, fitted)}.items():
            templates[(function, False)] = sql
        for function, sql in fitted.input_only_templates.items():
            templates[(function, True)] = sql
        expansion = data.expansion
        return StoredModel(
            name=self.statement.name,
            model_type=self.model_type.name,
            ddl=self.statement.ddl,
            options=self.options,
            label_column=data.label,
            feature_columns=expansion.inputs if expansion else [f.name for f in data.features],
            state={**fitted.state, "feature_expansion": expansion.state() if expansion else []},
            templates=templates,
        )

    def _ready_udfs(self, fitted: Fitted) -> None:
        """Load the fitted model's scorer and register the UDFs, so that the snapshots below (and
        ML.GLOBAL_EXPLAIN) can run the templates that call them."""
        if self.model_type.load_scorer is not None:
            udfs.load(self.model_type, fitted.state, fitted.scorer)
            udfs.register(self.con)

    def _global_explain(self, data: TrainingData, fitted: Fitted) -> dict[str, str]:
        """ML.GLOBAL_EXPLAIN from the model's ML.EXPLAIN_PREDICT over the training split, when the
        model was trained with enable_global_explain."""
        explain = fitted.input_only_templates.get("explain_predict")
        if explain is None or not self.options.get("enable_global_explain"):
            return {}
        classifier = self.model_type.task is CLASSIFICATION
        return global_explain_templates(
            self.con,
            explain,
            data.training_input_rows(),
            fitted.explained_features,
            quote_ident(f"predicted_{data.label}") if classifier else None,
        )

    def _snapshot(self, sql: str) -> str:
        """The result of `sql` now, as a constant relation with the same column types."""
        columns = self.describe(sql)
        rows = self.con.execute(sql).fetchall()
        return values_relation(columns, rows)


def with_defaults(template: str, input_sql: str) -> str:
    """An input template over `input_sql` with every other placeholder at its default."""
    return (
        template.replace(INPUT, input_sql)
        .replace(THRESHOLD, float_literal(DEFAULT_THRESHOLD))
        .replace(ROC_THRESHOLDS, "NULL")
    )


def build_model(statement: CreateModel, options: dict[str, Any]) -> StoredModel:
    """CREATE MODEL of an imported or remote model: built from its file or endpoint by its model
    type, with no training query, so only the functions over an input (ML.PREDICT) exist. A
    scorer the build step loaded (a checked graph or booster) is kept; a remote model's client
    loads when ML.PREDICT first runs (its credentials are needed only then)."""
    kind = catalog.model_type(options["model_type"])
    fitted = kind.build(statement, options)
    if fitted.scorer is not None:  # loaded to check the file: kept rather than loaded again
        udfs.load(kind, fitted.state, fitted.scorer)
    inputs = [t["name"] for t in fitted.state.get("inputs", [])]
    return StoredModel(
        name=statement.name,
        model_type=kind.name,
        ddl=statement.ddl,
        options=options,
        label_column=None,
        feature_columns=inputs,
        state=fitted.state,
        templates={(function, True): sql for function, sql in fitted.input_only_templates.items()},
    )
