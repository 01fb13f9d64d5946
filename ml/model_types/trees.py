"""What BigQuery's tree ensembles (boosted trees, random forests) share: their options, the fit step
(encoded features out of DuckDB as one float32 matrix, the booster library, the trees compiled to
SQL by ml/compile/trees.py), the booster UDFs their `_udf` templates and tree SHAP call, and how a
stored booster is loaded. The two families' modules (boosted_tree.py, random_forest.py) add their
own options. The booster library is imported where a tree trains or scores, not with the catalog.
"""

from __future__ import annotations

import base64
import uuid
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ml.compile import explain as explain_sql
from ml.compile import glm, info
from ml.compile import trees as trees_sql
from ml.compile.evaluation import Classes
from ml.compile.explain import SHAP_UDF
from ml.compile.layers import Scoring, udf_variants
from ml.compile.trees import MARGIN_UDF, Ensemble
from ml.literals import values_relation
from ml.model_types.arrow import list_array, rows_matrix
from ml.model_types.model_type import CLASSIFICATION, REGRESSION, Fitted, ModelType, ScalarUDF
from ml.model_types.option import BOOL_FALSE, BOOL_TRUE, Constraint, enum
from ml.model_types.options import (
    CLASS_WEIGHT_OPTIONS,
    COMMON_OPTIONS,
    SUPERVISED_COLUMN_OPTIONS,
    SUPERVISED_OPTIONS,
    check_class_weights,
    check_supervised,
)
from ml.model_types.training_data import TrainingData, label_text
from ml.names import quote_ident
from ml.preprocessing.automatic import Preprocessor

if TYPE_CHECKING:
    import xgboost as xgb

    from ml.estimators.boosted_tree import BoostedTree

# BigQuery's names and defaults, shared by both ensembles.
TREE_OPTIONS: dict[str, Constraint] = {
    "tree_method": enum("AUTO", "AUTO", "EXACT", "APPROX", "HIST"),
    "min_tree_child_weight": Constraint("int", 1, low=0),
    "colsample_bytree": Constraint("float", 1.0, low=0.0, high=1.0, open_low=True),
    "colsample_bylevel": Constraint("float", 1.0, low=0.0, high=1.0, open_low=True),
    "min_split_loss": Constraint("float", 0.0, low=0.0),
    "max_tree_depth": Constraint("int", 6, low=1, high=20),
    "l1_reg": Constraint("float", 0.0, low=0.0),
    "l2_reg": Constraint("float", 1.0, low=0.0),
    "early_stop": BOOL_TRUE,
    "min_rel_progress": Constraint("float", 0.01, low=0.0, high=1.0),
}

# Consumed by the engine around the estimator. Trees encode categoricals as labels (sorted
# vocabulary, NULL/unseen -> 0); BigQuery's other encodings are not implemented locally.
TREE_ENGINE_OPTIONS: dict[str, Constraint] = {
    "category_encoding_method": enum("LABEL_ENCODING", "LABEL_ENCODING"),
    "enable_global_explain": BOOL_FALSE,
    "xgboost_version": enum("1.1", "0.9", "1.1"),
}

REGRESSOR_FUNCTIONS = frozenset(
    {
        "predict",
        "evaluate",
        "training_info",
        "feature_info",
        "feature_importance",
        "explain_predict",
        "global_explain",
        "trial_info",
    }
)
CLASSIFIER_FUNCTIONS = REGRESSOR_FUNCTIONS | {"confusion_matrix", "roc_curve"}

IMPORTANCE_COLUMNS = [
    ("feature", "VARCHAR"),
    ("importance_weight", "BIGINT"),
    ("importance_gain", "DOUBLE"),
    ("importance_cover", "DOUBLE"),
]


def tree_model_type(
    name: str, ensemble_options: dict[str, Constraint], forest: bool, classifier: bool
) -> ModelType:
    """A tree model type: a random forest (`forest`) or boosted trees, classifier or regressor,
    whose ensemble takes `ensemble_options`."""
    weights = CLASS_WEIGHT_OPTIONS if classifier else {}
    return ModelType(
        name,
        CLASSIFICATION if classifier else REGRESSION,
        {**COMMON_OPTIONS, **SUPERVISED_OPTIONS, **ensemble_options, **weights, **TREE_ENGINE_OPTIONS},
        partial(fit_ensemble, forest=forest, classifier=classifier),
        CLASSIFIER_FUNCTIONS if classifier else REGRESSOR_FUNCTIONS,
        _check,
        column_options=SUPERVISED_COLUMN_OPTIONS,
        udfs=UDFS,
        load_scorer=load_booster,
    )


def _check(options: dict[str, Any], raw: dict[str, Any]) -> None:
    check_supervised(options, raw)
    check_class_weights(options)


def fetch_matrix(
    data: TrainingData, relation: str, pre: Preprocessor, label_sql: str
) -> tuple[np.ndarray, np.ndarray]:
    """The encoded features (float32, NULL -> NaN) and the label of `relation`'s rows."""
    refs = {f.name: quote_ident(f.name) for f in pre.features}
    encoded = trees_sql.encoded_features(pre.features, refs)
    columns = ", ".join(f"{sql} AS __ml_x{j}" for j, sql in enumerate(encoded))
    table: pa.Table = data.con.sql(
        f"SELECT {columns}, {label_sql} AS __ml_y FROM ({relation}) AS __ml_rel"
    ).to_arrow_table()
    width = len(pre.features)
    X = np.empty((table.num_rows, width), dtype=np.float32)
    for j in range(width):
        X[:, j] = table.column(j).to_numpy(zero_copy_only=False)
    return X, table.column(width).to_numpy(zero_copy_only=False)


def fit_ensemble(data: TrainingData, forest: bool, classifier: bool) -> Fitted:
    """The fit step of the tree types: a random forest (`forest`) or boosted trees, classifying
    or regressing."""
    from ml.estimators.boosted_tree import BoostedTree
    from ml.estimators.random_forest import RandomForest

    classes, label_sql = data.class_labels("Classification") if classifier else (None, data.numeric_label())
    pre = Preprocessor(data.features, standardize=False).fit(data.rows(False), data.query)
    X, y = fetch_matrix(data, data.rows(False), pre, label_sql)
    eval_set = fetch_matrix(data, data.rows(True), pre, label_sql) if data.has_eval else None
    estimator = (RandomForest if forest else BoostedTree).from_options(data.options)
    names = [label_text(v) for v in classes.values] if classes else None
    estimator.fit(X, y, eval_set, len(classes.values) if classes else None, names)
    ensemble = Ensemble.from_booster(estimator.booster_, X)
    token = uuid.uuid4().hex
    scoring, input_templates, variants = _templates(data, pre, classes, ensemble, token)
    explain = explain_sql.tree_explain(scoring, [f.name for f in pre.features], classes, token)
    fixed = {
        "training_info": info.training_info(estimator.history_),
        "feature_info": info.feature_info(pre),
        "feature_importance": feature_importance(estimator, pre),
    }
    state: dict[str, Any] = {
        "features": [vars(f) for f in pre.features],
        "classes": names,
        "token": token,
        "booster": base64.b64encode(bytes(estimator.booster_.save_raw("ubj"))).decode(),
        "base_margin": ensemble.base_margin,
        "transform": data.transform_items,
    }
    return Fitted(
        scoring,
        input_templates,
        fixed,
        state,
        {**variants, "explain_predict": explain},
        explained_features=[f.name for f in pre.features],
    )


def _templates(
    data: TrainingData, pre: Preprocessor, classes: Classes | None, ensemble: Ensemble, token: str
) -> tuple[Scoring, dict[str, str], dict[str, str]]:
    """The SQL scoring and its evaluation templates; for single-output models also their `_udf`
    variants (`predict_udf`, `evaluate_udf`, ...), whose margin comes from the booster UDF."""
    layer = data.feature_layer()

    def scoring_with(udf_token: str | None) -> Scoring:
        if classes:
            return trees_sql.classifier_scoring(pre.features, layer, classes, ensemble, udf_token)
        return trees_sql.regression_scoring(pre.features, layer, data.label, ensemble, udf_token)

    scoring = scoring_with(None)
    evaluation = glm.evaluation_templates(scoring, classes, data.label)
    if len(ensemble.base_margin) != 1:
        return scoring, evaluation, {}
    fast = scoring_with(token)
    return scoring, evaluation, udf_variants(fast, glm.evaluation_templates(fast, classes, data.label))


def load_booster(state: dict[str, Any]) -> xgb.Booster:
    """The booster a stored tree model's `state` holds."""
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(bytearray(base64.b64decode(state["booster"])))
    return booster


def _tree_margin(booster: xgb.Booster, features: pa.Array) -> pa.Array:
    """The margin of a single-output model (regressor, binary classifier): the booster scores trees
    ~15x faster than DuckDB evaluates their nested CASE expressions."""
    margin = booster.inplace_predict(rows_matrix(features, np.float32), predict_type="margin", missing=np.nan)
    return pa.array(margin.astype(np.float64))


def _tree_shap(booster: xgb.Booster, features: pa.Array) -> pa.Array:
    """Per row: exact tree SHAP values (the booster's `pred_contribs`) of every feature then the bias,
    for every output (class) in turn; tree SHAP has no closed form in SQL."""
    import xgboost as xgb

    X = rows_matrix(features, np.float32)
    contributions = booster.predict(xgb.DMatrix(X, missing=np.nan), pred_contribs=True)
    return list_array(contributions.reshape(len(X), -1))


UDFS = (ScalarUDF(MARGIN_UDF, _tree_margin, "DOUBLE"), ScalarUDF(SHAP_UDF, _tree_shap, "DOUBLE[]"))


def feature_importance(estimator: BoostedTree, pre: Preprocessor) -> str:
    """ML.FEATURE_IMPORTANCE: per input feature, how many splits use it (weight) and the average
    gain and cover of those splits, as the booster reports them; unused features get zeros."""
    scores = {
        kind: estimator.booster_.get_score(importance_type=kind) for kind in ("weight", "gain", "cover")
    }
    rows = []
    for j, feature in enumerate(pre.features):
        key = f"f{j}"
        rows.append(
            (
                feature.name,
                int(scores["weight"].get(key, 0)),
                float(scores["gain"].get(key, 0.0)),
                float(scores["cover"].get(key, 0.0)),
            )
        )
    return values_relation(IMPORTANCE_COLUMNS, rows) + " ORDER BY importance_gain DESC"
