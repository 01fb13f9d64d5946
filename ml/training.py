"""CREATE MODEL, from the training query to everything the catalog stores.

The query runs in DuckDB; the split, the TRANSFORM statistics and the preprocessing statistics are
DuckDB aggregates; design-matrix batches stream out as Arrow; the estimator fits in numpy; the
fitted model compiles to SQL templates, and the no-input forms of ML.EVALUATE & co. are computed
once with those same templates over the eval split.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ml.catalog import StoredModel
from ml.compile import glm, info, kmeans
from ml.compile.evaluation import Classes, regression_metrics
from ml.compile.layers import INPUT, THRESHOLD, FeatureLayer, Scoring
from ml.compile.literals import float_literal, values_relation
from ml.errors import MLError
from ml.models import KMeans, LinearRegression, LogisticRegression
from ml.models.logistic import MAX_CLASSES
from ml.names import quote_ident
from ml.preprocessing import Preprocessor, is_numeric_type, make_features
from ml.split import eval_predicate
from ml.sql.options import GLM_PARAMS, KMEANS_PARAMS, LOGISTIC_PARAMS
from ml.sql.statements import CreateModel
from ml.sql.transform import compile_transform

BATCH_ROWS = 1 << 17
DEFAULT_THRESHOLD = 0.5


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

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        blocks = list(self.batches())
        if not blocks:
            return np.zeros((0, self.width)), np.zeros(0)
        return np.vstack([X for X, _ in blocks]), np.concatenate([y for _, y in blocks])


@dataclass
class Fitted:
    """What a model type's fit step hands back for storage."""

    scoring: Scoring
    input_templates: dict[str, str]
    fixed_templates: dict[str, str]
    state: dict[str, Any]


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
        self.model_type = options["model_type"]
        self.source = translate(statement.query)

    def query(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def first(self, sql: str) -> tuple:
        return self.con.execute(sql).fetchall()[0]

    def describe(self, sql: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.con.execute(f"DESCRIBE {sql}").fetchall()]

    def run(self) -> StoredModel:
        columns = self.describe(self.source)
        self.types = dict(columns)
        self.label = self._label_column(columns)
        passthrough = [
            c
            for c in (self.label, self.options.get("data_split_col"), self.options.get("kmeans_init_col"))
            if c
        ]
        n_rows = self.first(f"SELECT count(*) FROM ({self.source}) AS __ml_src")[0]
        if n_rows == 0:
            raise MLError("The training data is empty")
        split = None
        if self.model_type != "KMEANS":
            split = eval_predicate(self.options, n_rows, self.types, self.source, self.first)
        self.split_sql = (
            f"SELECT __ml_src.*, {split or 'FALSE'} AS __ml_is_eval FROM ({self.source}) AS __ml_src"
        )
        self.has_eval = split is not None
        self.transform = None
        if self.statement.transform is not None:
            self.transform = compile_transform(
                self.statement.transform, self.source, [c for c, _ in columns], passthrough, self.first
            )
            projections = [f"{expr} AS {quote_ident(name)}" for name, expr in self.transform.items]
            projections += [quote_ident(c) for c in passthrough] + ["__ml_is_eval"]
            self.train_sql = f"SELECT {', '.join(projections)} FROM ({self.split_sql}) AS __ml_src"
            feature_columns = [
                (n, t) for n, t in self.describe(self.train_sql) if n in dict(self.transform.items)
            ]
        else:
            self.train_sql = self.split_sql
            lowered = {p.lower() for p in passthrough}
            feature_columns = [(n, t) for n, t in columns if n.lower() not in lowered]
        self.features = make_features(feature_columns)
        fitted = {
            "LINEAR_REG": self._fit_linear,
            "LOGISTIC_REG": self._fit_logistic,
            "KMEANS": self._fit_kmeans,
        }[self.model_type]()
        return self._stored(fitted)

    def _label_column(self, columns: list[tuple[str, str]]) -> str | None:
        if self.model_type == "KMEANS":
            return None
        wanted = self.options["input_label_cols"][0]
        match = [name for name, _ in columns if name.lower() == wanted.lower()]
        if not match:
            raise MLError(
                f"Label column {wanted} not found in the training data: input_label_cols names a "
                f"column the query does not return"
            )
        return match[0]

    def rows(self, eval_rows: bool) -> str:
        return f"SELECT * FROM ({self.train_sql}) AS __ml_t WHERE {'' if eval_rows else 'NOT '}__ml_is_eval"

    def _datasets(self, pre: Preprocessor, label_sql: str) -> tuple[SqlDataset, SqlDataset | None]:
        pre.fit(self.rows(False), self.query)
        train = SqlDataset(self.con, self.rows(False), pre, label_sql)
        evaluation = SqlDataset(self.con, self.rows(True), pre, label_sql) if self.has_eval else None
        return train, evaluation

    def _estimator_params(self, table: dict) -> dict[str, Any]:
        return {name: self.options[name] for name in table}

    def _fit_linear(self) -> Fitted:
        label = quote_ident(self.label)
        if not is_numeric_type(self.types[self.label]):
            raise MLError(
                f"Label column {self.label} has type {self.types[self.label]}; linear_reg needs a numeric "
                f"label"
            )
        bad = self.first(
            f"SELECT count(*) FROM ({self.source}) AS __ml_src WHERE {label} IS NULL "
            f"OR NOT isfinite(CAST({label} AS DOUBLE))"
        )[0]
        if bad:
            raise MLError(
                f"Label column {self.label} has {bad} NULL, NaN or infinite values; linear_reg requires "
                f"finite labels"
            )
        pre = self._preprocessor()
        train, evaluation = self._datasets(pre, f"CAST({label} AS DOUBLE)")
        model = LinearRegression(**self._estimator_params(GLM_PARAMS)).fit(train, evaluation)
        scoring = glm.regression_scoring(
            pre, self._feature_layer(), self.label, model.coef_, model.intercept_
        )
        evaluate = regression_metrics(scoring.scored_sql(), self.label, f"predicted_{self.label}")
        return Fitted(
            scoring, {"evaluate": evaluate}, self._glm_fixed(pre, model, None), self._glm_state(pre, model)
        )

    def _fit_logistic(self) -> Fitted:
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
                f"Logistic regression requires at least 2 unique labels, but the label column "
                f"{self.label} had {len(values)} unique label"
            )
        classes = Classes(self.label, self.types[self.label], values)
        index = (
            "CASE "
            + label
            + " "
            + " ".join(f"WHEN {classes.literal(k)} THEN {k}" for k in range(len(values)))
        )
        pre = self._preprocessor()
        train, evaluation = self._datasets(pre, index + " END")
        names = [_label_text(v) for v in values]
        model = LogisticRegression(**self._estimator_params(LOGISTIC_PARAMS)).fit(train, evaluation, names)
        scoring = glm.classifier_scoring(pre, self._feature_layer(), classes, model.coef_, model.intercept_)
        multiclass = names if len(values) > 2 else None
        state = {**self._glm_state(pre, model), "classes": names}
        return Fitted(
            scoring,
            glm.classifier_templates(scoring, classes),
            self._glm_fixed(pre, model, multiclass),
            state,
        )

    def _fit_kmeans(self) -> Fitted:
        pre = Preprocessor(self.features, standardize=self.options["standardize_features"])
        train, _ = self._datasets(pre, "0")
        init = None
        init_col = self.options["kmeans_init_col"]
        if init_col:
            if self.types.get(init_col) != "BOOLEAN":
                raise MLError(f"kmeans_init_col {init_col} must be a BOOL column of the training data")
            init_rows = SqlDataset(
                self.con,
                f"SELECT * FROM ({self.train_sql}) AS __ml_t WHERE {quote_ident(init_col)}",
                pre,
                "0",
            )
            init = init_rows.arrays()[0]
        params = self._estimator_params(KMEANS_PARAMS)
        if params["num_clusters"] is None and init is not None:
            params["num_clusters"] = len(init)
        model = KMeans(**params).fit(train, init)
        scoring = kmeans.kmeans_scoring(pre, self._feature_layer(), model)
        fixed = {
            "training_info": info.kmeans_training_info(model.history_),
            "feature_info": info.feature_info(pre),
            "centroids": info.centroids(pre, model),
        }
        state = {
            "features": [vars(f) for f in pre.features],
            "centroids": model.cluster_centers_.tolist(),
            "transform": self.transform.items if self.transform else None,
        }
        return Fitted(scoring, kmeans.kmeans_templates(scoring, model), fixed, state)

    def _preprocessor(self) -> Preprocessor:
        dummy = self.options["category_encoding_method"] == "DUMMY_ENCODING"
        return Preprocessor(self.features, standardize=True, dummy_encoding=dummy)

    def _feature_layer(self) -> FeatureLayer:
        return FeatureLayer.build(
            [f.name for f in self.features], self.transform.items if self.transform else None
        )

    def _glm_fixed(self, pre: Preprocessor, model: Any, class_labels: list[str] | None) -> dict[str, str]:
        return {
            "training_info": info.training_info(model.history_),
            "feature_info": info.feature_info(pre),
            "weights": info.weights(pre, model.coef_, model.intercept_, False, class_labels),
            "weights_standardized": info.weights(pre, model.coef_, model.intercept_, True, class_labels),
        }

    def _glm_state(self, pre: Preprocessor, model: Any) -> dict[str, Any]:
        return {
            "features": [vars(f) for f in pre.features],
            "coef": np.asarray(model.coef_).tolist(),
            "intercept": np.asarray(model.intercept_).tolist(),
            "strategy": model.strategy_,
            "transform": self.transform.items if self.transform else None,
            "transform_statistics": self.transform.statistics if self.transform else None,
        }

    def _stored(self, fitted: Fitted) -> StoredModel:
        templates = {("predict", True): fitted.scoring.predict_sql()}
        eval_input = (
            f"(SELECT * EXCLUDE (__ml_is_eval) FROM ({self.split_sql}) AS __ml_s "
            f"{'WHERE __ml_is_eval' if self.has_eval else ''})"
        )
        for function, sql in fitted.input_templates.items():
            templates[(function, True)] = sql
            # Without input, BigQuery answers from the eval split seen at training: computed now.
            at_training = sql.replace(INPUT, eval_input).replace(THRESHOLD, float_literal(DEFAULT_THRESHOLD))
            templates[(function, False)] = self._snapshot(at_training)
        for function, sql in fitted.fixed_templates.items():
            templates[(function, False)] = sql
        return StoredModel(
            name=self.statement.name,
            model_type=self.model_type,
            ddl=self.statement.ddl,
            options=self.options,
            label_column=self.label,
            feature_columns=[f.name for f in self.features],
            state=fitted.state,
            templates=templates,
        )

    def _snapshot(self, sql: str) -> str:
        """The result of `sql` now, as a constant relation with the same column types."""
        columns = self.describe(sql)
        rows = self.query(sql)
        return values_relation(columns, rows)


def _label_text(value: Any) -> str:
    """A class label as class_weights and ML.WEIGHTS name it."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


