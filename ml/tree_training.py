"""CREATE MODEL for boosted_tree_* and random_forest_*: encoded features out of DuckDB as one
float32 matrix, XGBoost fit, trees compiled to SQL (ml/compile/trees.py).

Registered in ml.training.FIT_FUNCTIONS; everything else (split, TRANSFORM, storage, the no-input
ML.EVALUATE snapshot) is the Trainer's.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import numpy as np
import pyarrow as pa

from ml import explain, udf
from ml.compile import explain as explain_sql
from ml.compile import glm, info, trees
from ml.compile.evaluation import Classes
from ml.compile.layers import Scoring
from ml.compile.literals import values_relation
from ml.models.boosted_tree import BoostedTree
from ml.models.random_forest import RandomForest
from ml.names import quote_ident
from ml.preprocessing import Preprocessor
from ml.sql.options import TREE_TYPES
from ml.training import Fitted, Trainer, _label_text

IMPORTANCE_COLUMNS = [
    ("feature", "VARCHAR"),
    ("importance_weight", "BIGINT"),
    ("importance_gain", "DOUBLE"),
    ("importance_cover", "DOUBLE"),
]


def fetch_matrix(
    trainer: Trainer, relation: str, pre: Preprocessor, label_sql: str
) -> tuple[np.ndarray, np.ndarray]:
    """The encoded features (float32, NULL -> NaN) and the label of `relation`'s rows."""
    refs = {f.name: quote_ident(f.name) for f in pre.features}
    columns = ", ".join(
        f"{sql} AS __ml_x{j}" for j, sql in enumerate(trees.encoded_features(pre.features, refs))
    )
    table: pa.Table = trainer.con.sql(
        f"SELECT {columns}, {label_sql} AS __ml_y FROM ({relation}) AS __ml_rel"
    ).to_arrow_table()
    width = len(pre.features)
    X = np.empty((table.num_rows, width), dtype=np.float32)
    for j in range(width):
        X[:, j] = table.column(j).to_numpy(zero_copy_only=False)
    return X, table.column(width).to_numpy(zero_copy_only=False)


def fit_tree_model(trainer: Trainer) -> Fitted:
    """The fit step of the four tree model types."""
    classes, label_sql = (
        trainer.class_labels("Classification")
        if trainer.model_type.endswith("CLASSIFIER")
        else (None, trainer.numeric_label())
    )
    pre = Preprocessor(trainer.features, standardize=False).fit(trainer.rows(False), trainer.query)
    X, y = fetch_matrix(trainer, trainer.rows(False), pre, label_sql)
    eval_set = fetch_matrix(trainer, trainer.rows(True), pre, label_sql) if trainer.has_eval else None
    estimator_type = RandomForest if trainer.model_type.startswith("RANDOM_FOREST") else BoostedTree
    estimator = estimator_type(**trainer._estimator_params(TREE_TYPES[trainer.model_type]))
    names = [_label_text(v) for v in classes.values] if classes else None
    estimator.fit(X, y, eval_set, len(classes.values) if classes else None, names)
    ensemble = trees.Ensemble.from_booster(estimator.booster_, X)
    token = uuid.uuid4().hex
    booster = base64.b64encode(bytes(estimator.booster_.save_raw("ubj"))).decode()
    udf.load(token, {"booster": booster})
    udf.register(trainer.con)
    scoring, input_templates, input_only = _templates(trainer, pre, classes, ensemble, token)
    input_only_explain, global_fixed = explain.explain_templates(
        trainer.con,
        explain_sql.tree_explain(scoring, [f.name for f in pre.features], classes, token),
        trainer.training_input_rows(),
        [f.name for f in pre.features],
        quote_ident(f"predicted_{trainer.label}") if classes else None,
        trainer.options["enable_global_explain"],
    )
    fixed = {
        "training_info": info.training_info(estimator.history_),
        "feature_info": info.feature_info(pre),
        "feature_importance": feature_importance(estimator, pre),
        **global_fixed,
    }
    state: dict[str, Any] = {
        "features": [vars(f) for f in pre.features],
        "classes": names,
        "token": token,
        "booster": booster,
        "base_margin": ensemble.base_margin,
        "transform": trainer.transform.items if trainer.transform else None,
    }
    return Fitted(scoring, input_templates, fixed, state, {**input_only, **input_only_explain})


def _templates(
    trainer: Trainer, pre: Preprocessor, classes: Classes | None, ensemble: trees.Ensemble, token: str
) -> tuple[Scoring, dict[str, str], dict[str, str]]:
    """The SQL scoring and its evaluation templates; for single-output models also their `_udf`
    variants (`predict_udf`, `evaluate_udf`, ...), whose margin comes from the booster UDF."""
    layer = trainer._feature_layer()

    def scoring_with(udf_token: str | None) -> Scoring:
        if classes:
            return trees.classifier_scoring(pre.features, layer, classes, ensemble, udf_token)
        return trees.regression_scoring(pre.features, layer, trainer.label, ensemble, udf_token)

    scoring = scoring_with(None)
    evaluation = glm.evaluation_templates(scoring, classes, trainer.label)
    if len(ensemble.base_margin) != 1:
        return scoring, evaluation, {}
    fast = scoring_with(token)
    return scoring, evaluation, udf.variants(fast, glm.evaluation_templates(fast, classes, trainer.label))


def feature_importance(estimator: BoostedTree, pre: Preprocessor) -> str:
    """ML.FEATURE_IMPORTANCE: per input feature, how many splits use it (weight) and the average
    gain and cover of those splits, as XGBoost reports them; unused features get zeros."""
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
