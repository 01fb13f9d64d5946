"""CREATE MODEL for dnn_classifier / dnn_regressor: the design matrix out of DuckDB as float32,
PyTorch training (ml/models/dnn.py), the network compiled to SQL (ml/compile/dnn.py) and, as
`_udf` variants, run by the forward UDF (ml/udf.py), which the Engine prefers.

Registered in ml.training.FIT_FUNCTIONS; everything else (split, TRANSFORM, storage, the no-input
ML.EVALUATE snapshot) is the Trainer's.
"""

from __future__ import annotations

import uuid
from typing import Any

from ml import udf
from ml.compile import glm, info
from ml.compile.dnn import network_layers
from ml.compile.layers import Scoring
from ml.models.dnn import DNN, DNNClassifier, DNNRegressor
from ml.preprocessing import Preprocessor
from ml.sql.options import CLASS_WEIGHT_PARAMS, DNN_PARAMS
from ml.training import Fitted, Trainer, _label_text


def _state(trainer: Trainer, pre: Preprocessor, model: DNN, token: str) -> dict[str, Any]:
    return {
        "features": [vars(f) for f in pre.features],
        "hidden_units": model.hidden_units_,
        "layers": [(w.tolist(), b.tolist()) for w, b in model.layers_],
        "activation_fn": model.activation_fn,
        # The forward UDF's inputs: the numeric features, then one category index per categorical.
        "numeric_inputs": len(pre.numeric),
        "category_blocks": [len(f.encoded) for f in pre.categorical],
        "token": token,
        "transform": trainer.transform.items if trainer.transform else None,
    }


def fit_dnn(trainer: Trainer) -> Fitted:
    """Train with PyTorch; store the network as SQL templates and as `_udf` variants that run it
    in the forward UDF (what the Engine prefers: it predicts several times faster)."""
    classifier = trainer.model_type == "DNN_CLASSIFIER"
    if classifier:
        classes, label_sql = trainer.class_labels("dnn_classifier")
    else:
        label_sql = trainer.numeric_label()
    pre = Preprocessor(trainer.features, standardize=True)
    train, evaluation_rows = trainer._datasets(pre, label_sql)
    params = trainer._estimator_params({**DNN_PARAMS, **(CLASS_WEIGHT_PARAMS if classifier else {})})
    features = trainer._feature_layer()
    if classifier:
        names = [_label_text(v) for v in classes.values]
        model = DNNClassifier(**params).fit(train, evaluation_rows, names)
    else:
        model = DNNRegressor(**params).fit(train, evaluation_rows)
    token = uuid.uuid4().hex
    state = _state(trainer, pre, model, token)
    udf.load(token, state)
    udf.register(trainer.con)  # the eval snapshots run the `_udf` variants

    def scoring_with(udf_token: str | None) -> Scoring:
        layers, outputs = network_layers(pre, features, model, udf_token)
        if classifier:
            return glm.probability_scoring(features, layers, classes, outputs)
        return Scoring(features, layers, [(f"predicted_{trainer.label}", outputs[0])])

    def evaluation(scoring: Scoring) -> dict[str, str]:
        return glm.evaluation_templates(scoring, classes if classifier else None, trainer.label)

    scoring = scoring_with(None)
    fixed = {"feature_info": info.feature_info(pre), "training_info": info.training_info(model.history_)}
    if classifier:
        state["classes"] = names
    fast = scoring_with(token)
    return Fitted(scoring, evaluation(scoring), fixed, state, udf.variants(fast, evaluation(fast)))
