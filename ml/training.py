"""CREATE MODEL, from the training query to everything the catalog stores.

The query runs in DuckDB; the split, the TRANSFORM statistics and the preprocessing statistics are
DuckDB aggregates; design-matrix batches stream out as Arrow; the estimator fits in numpy; the
fitted model compiles to SQL templates, and the no-input forms of ML.EVALUATE & co. are computed
once with those same templates over the eval split.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ml import explain
from ml.catalog import StoredModel
from ml.compile import explain as explain_sql
from ml.compile import glm, info, kmeans
from ml.compile.evaluation import Classes, regression_metrics
from ml.compile.layers import INPUT, ROC_THRESHOLDS, THRESHOLD, FeatureLayer, Scoring
from ml.compile.literals import float_literal, values_relation
from ml.errors import MLError
from ml.feature_expansion import FeatureExpansion
from ml.models import KMeans, LinearRegression, LogisticRegression
from ml.models.logistic import MAX_CLASSES
from ml.names import quote_ident
from ml.preprocessing import Preprocessor, is_numeric_type
from ml.split import eval_predicate
from ml.sql.options import GLM_PARAMS, KMEANS_PARAMS, LOGISTIC_PARAMS
from ml.sql.statements import CreateModel
from ml.sql.transform import compile_transform

BATCH_ROWS = 1 << 17
DEFAULT_THRESHOLD = 0.5
# Model types without a label (and so without a data split).
UNSUPERVISED = frozenset({"KMEANS", "PCA"})
# Model types that read the training query as a whole (time series): no features, no split.
WHOLE_QUERY = frozenset({"ARIMA_PLUS"})


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


@dataclass
class Fitted:
    """What a model type's fit step hands back for storage (scoring None: no ML.PREDICT)."""

    scoring: Scoring | None
    input_templates: dict[str, str]
    fixed_templates: dict[str, str]
    state: dict[str, Any]
    # Templates that only exist with an input (ML.EXPLAIN_PREDICT): no training-time snapshot.
    input_only_templates: dict[str, str] = field(default_factory=dict)


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
        # TIMESTAMP / STRUCT / ARRAY inputs as plain columns; None for whole-query model types.
        self.expansion: FeatureExpansion | None = None

    def query(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def first(self, sql: str) -> tuple:
        return self.con.execute(sql).fetchall()[0]

    def describe(self, sql: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.con.execute(f"DESCRIBE {sql}").fetchall()]

    def run(self) -> StoredModel:
        if self.model_type in WHOLE_QUERY:
            self.label, self.features = None, []
            return self._stored(fit_function(self.model_type)(self))
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
        if self.model_type not in UNSUPERVISED:
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
        self.expansion = FeatureExpansion.plan(feature_columns, self.model_type, passthrough)
        self.expansion.fit(self.rows(False), self.query)
        self.train_sql = self.expansion.apply(self.train_sql)
        self.features = self.expansion.features()
        return self._stored(fit_function(self.model_type)(self))

    def _label_column(self, columns: list[tuple[str, str]]) -> str | None:
        if self.model_type in UNSUPERVISED:
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

    def training_input_rows(self) -> str:
        """The training split's rows as the query returned them (before any TRANSFORM)."""
        return f"SELECT * EXCLUDE (__ml_is_eval) FROM ({self.split_sql}) AS __ml_s WHERE NOT __ml_is_eval"

    def _datasets(self, pre: Preprocessor, label_sql: str) -> tuple[SqlDataset, SqlDataset | None]:
        pre.fit(self.rows(False), self.query)
        train = SqlDataset(self.con, self.rows(False), pre, label_sql)
        evaluation = SqlDataset(self.con, self.rows(True), pre, label_sql) if self.has_eval else None
        return train, evaluation

    def _estimator_params(self, table: dict) -> dict[str, Any]:
        return {name: self.options[name] for name in table}

    def numeric_label(self) -> str:
        """The label as a DOUBLE expression, after checking that it is numeric and finite."""
        label = quote_ident(self.label)
        kind = self.model_type.lower()
        if not is_numeric_type(self.types[self.label]):
            raise MLError(
                f"Label column {self.label} has type {self.types[self.label]}; {kind} needs a numeric label"
            )
        bad = self.first(
            f"SELECT count(*) FROM ({self.source}) AS __ml_src WHERE {label} IS NULL "
            f"OR NOT isfinite(CAST({label} AS DOUBLE))"
        )[0]
        if bad:
            raise MLError(
                f"Label column {self.label} has {bad} NULL, NaN or infinite values; {kind} requires "
                f"finite labels"
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
        classes = Classes(self.label, self.types[self.label], values)
        index = " ".join(f"WHEN {classes.literal(k)} THEN {k}" for k in range(len(values)))
        return classes, f"CASE {label} {index} END"

    def _fit_linear(self) -> Fitted:
        label_sql = self.numeric_label()
        pre = self._preprocessor()
        train, evaluation = self._datasets(pre, label_sql)
        model = LinearRegression(**self._estimator_params(GLM_PARAMS)).fit(train, evaluation)
        scoring = glm.regression_scoring(
            pre, self._feature_layer(), self.label, model.coef_, model.intercept_
        )
        evaluate = regression_metrics(scoring.scored_sql(), self.label, f"predicted_{self.label}")
        explain_input, global_fixed = self._glm_explain(pre, scoring, None, model)
        return Fitted(
            scoring,
            {"evaluate": evaluate},
            {**self._glm_fixed(pre, model, None), **global_fixed},
            self._glm_state(pre, model),
            explain_input,
        )

    def _fit_logistic(self) -> Fitted:
        classes, index = self.class_labels("Logistic regression")
        values = classes.values
        pre = self._preprocessor()
        train, evaluation = self._datasets(pre, index)
        names = [_label_text(v) for v in values]
        model = LogisticRegression(**self._estimator_params(LOGISTIC_PARAMS)).fit(train, evaluation, names)
        scoring = glm.classifier_scoring(pre, self._feature_layer(), classes, model.coef_, model.intercept_)
        multiclass = names if len(values) > 2 else None
        state = {**self._glm_state(pre, model), "classes": names}
        explain_input, global_fixed = self._glm_explain(pre, scoring, classes, model)
        return Fitted(
            scoring,
            glm.classifier_templates(scoring, classes),
            {**self._glm_fixed(pre, model, multiclass), **global_fixed},
            state,
            explain_input,
        )

    def _glm_explain(
        self, pre: Preprocessor, scoring: Scoring, classes: Classes | None, model: Any
    ) -> tuple[dict[str, str], dict[str, str]]:
        """ML.EXPLAIN_PREDICT (exact linear attributions) and, if enabled, ML.GLOBAL_EXPLAIN."""
        return explain.explain_templates(
            self.con,
            explain_sql.glm_explain(pre, scoring, classes, model.coef_, model.intercept_),
            self.training_input_rows(),
            [f.name for f in pre.features],
            quote_ident(f"predicted_{self.label}") if classes else None,
            self.options["enable_global_explain"],
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
        if self.expansion is None:
            return FeatureLayer.build(
                [f.name for f in self.features], self.transform.items if self.transform else None
            )
        layer = FeatureLayer.build(self.expansion.inputs, self.transform.items if self.transform else None)
        return self.expansion.extend(layer)

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
        templates = {("predict", True): fitted.scoring.predict_sql()} if fitted.scoring else {}
        for function, sql in fitted.input_templates.items():
            eval_input = (
                f"(SELECT * EXCLUDE (__ml_is_eval) FROM ({self.split_sql}) AS __ml_s "
                f"{'WHERE __ml_is_eval' if self.has_eval else ''})"
            )
            templates[(function, True)] = sql
            # Without input, BigQuery answers from the eval split seen at training: computed now,
            # by the faster `_udf` variant when the model has one (the same numbers).
            fastest = fitted.input_only_templates.get(f"{function}_udf", sql)
            templates[(function, False)] = self._snapshot(with_defaults(fastest, eval_input))
        for function, sql in fitted.fixed_templates.items():
            templates[(function, False)] = sql
        for function, sql in fitted.input_only_templates.items():
            templates[(function, True)] = sql
        return StoredModel(
            name=self.statement.name,
            model_type=self.model_type,
            ddl=self.statement.ddl,
            options=self.options,
            label_column=self.label,
            feature_columns=self.expansion.inputs if self.expansion else [f.name for f in self.features],
            state={**fitted.state, "feature_expansion": self.expansion.state() if self.expansion else []},
            templates=templates,
        )

    def _snapshot(self, sql: str) -> str:
        """The result of `sql` now, as a constant relation with the same column types."""
        columns = self.describe(sql)
        rows = self.query(sql)
        return values_relation(columns, rows)


def with_defaults(template: str, input_sql: str) -> str:
    """An input template over `input_sql` with every other placeholder at its default."""
    return (
        template.replace(INPUT, input_sql)
        .replace(THRESHOLD, float_literal(DEFAULT_THRESHOLD))
        .replace(ROC_THRESHOLDS, "NULL")
    )


# model_type -> "module:function" fitting it (called with the Trainer, returns `Fitted`). Each
# model type's own module adds its row here; imported on first use so that a type's dependencies
# (xgboost, torch) load only when that type trains.
FIT_FUNCTIONS: dict[str, str] = {
    "LINEAR_REG": "ml.training:Trainer._fit_linear",
    "LOGISTIC_REG": "ml.training:Trainer._fit_logistic",
    "KMEANS": "ml.training:Trainer._fit_kmeans",
    "BOOSTED_TREE_REGRESSOR": "ml.tree_training:fit_tree_model",
    "BOOSTED_TREE_CLASSIFIER": "ml.tree_training:fit_tree_model",
    "RANDOM_FOREST_REGRESSOR": "ml.tree_training:fit_tree_model",
    "RANDOM_FOREST_CLASSIFIER": "ml.tree_training:fit_tree_model",
    "DNN_CLASSIFIER": "ml.dnn_training:fit_dnn",
    "DNN_REGRESSOR": "ml.dnn_training:fit_dnn",
    "PCA": "ml.compile.pca:fit_pca",
    "ARIMA_PLUS": "ml.forecast:fit_arima",
}


def fit_function(model_type: str) -> Callable[[Trainer], Fitted]:
    """The fit step registered for `model_type` in FIT_FUNCTIONS."""
    module_name, _, path = FIT_FUNCTIONS[model_type].partition(":")
    target: Any = importlib.import_module(module_name)
    for part in path.split("."):
        target = getattr(target, part)
    return target


def _label_text(value: Any) -> str:
    """A class label as class_weights and ML.WEIGHTS name it."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
