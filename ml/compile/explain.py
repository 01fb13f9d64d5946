"""ML.EXPLAIN_PREDICT and ML.GLOBAL_EXPLAIN as SQL templates.

Every model explains one number per row, its `prediction_value`: the prediction of a regressor,
the margin (logit) of the predicted class of a classifier. Attributions sum to
prediction_value - baseline_prediction_value; `approximation_error` is what they miss (0 for the
exact methods here).

- GLMs: exact, linear attributions. A numeric feature contributes w * (x - mean) / stddev, a
  categorical one w[category] - sum_c w[c] * freq(c); the baseline is the prediction at the
  training means (category frequencies), so the sum is exact by construction.
- Trees: tree SHAP (the booster's `pred_contribs`, exact for trees), computed by a vectorised Arrow
  UDF over the encoded features; the baseline is the booster's bias term.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ml.compile.evaluation import Classes
from ml.compile.layers import Scoring
from ml.compile.placeholders import THRESHOLD, TOP_K
from ml.errors import MLError
from ml.literals import float_literal, sql_literal
from ml.preprocessing.automatic import Preprocessor, categorical_case
from ml.sql.calls import flag_setting

SHAP_UDF = "__ml_tree_shap"
DEFAULT_TOP_K = 5
ATTRIBUTION = "STRUCT(feature VARCHAR, attribution DOUBLE)[]"


def explain_function(function: str, settings: dict) -> str:
    """ML.GLOBAL_EXPLAIN with STRUCT(TRUE AS class_level_explain) reads its own template."""
    if function == "global_explain" and flag_setting(settings, "class_level_explain", function):
        return "global_explain_class_level"
    return function


def explain_settings(function: str, settings: dict) -> dict[str, str]:
    """Placeholders of ML.EXPLAIN_PREDICT: top_k_features (default 5, every feature if larger)."""
    if function != "explain_predict":
        return {}
    top_k = settings.pop("top_k_features", DEFAULT_TOP_K)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise MLError("top_k_features must be a positive INT64")
    return {TOP_K: str(top_k)}


def glm_attributions(
    pre: Preprocessor, refs: dict[str, str], coef: np.ndarray, intercept: float
) -> tuple[list[str], float]:
    """Per input feature, its attribution as SQL; and the baseline (prediction at the means)."""
    baseline, terms, j = float(intercept), [], 0
    for feature in pre.numeric:
        weight = float(coef[j]) / feature.stddev
        x = f"COALESCE({refs[feature.name]}, {float_literal(feature.mean)})"
        terms.append(f"{float_literal(weight)} * ({x} - {float_literal(feature.mean)})")
        j += 1
    for feature in pre.categorical:
        width = len(feature.encoded)
        block = coef[j : j + width]
        counts = dict(zip(feature.categories, feature.counts, strict=True))
        total = sum(feature.counts)
        expected = sum(
            float(w) * counts.get(c, 0) / total for c, w in zip(feature.encoded, block, strict=True)
        )
        baseline += expected
        terms.append(f"({categorical_case(feature, refs[feature.name], block)} - {float_literal(expected)})")
        j += width
    names = [f.name for f in pre.numeric] + [f.name for f in pre.categorical]
    order = [names.index(f.name) for f in pre.features]
    return [terms[i] for i in order], baseline


def explain_sql(
    scoring: Scoring,
    feature_names: Sequence[str],
    attributions: Sequence[str],
    baseline: str,
    prediction: str,
    probability: str | None,
) -> str:
    """The ML.EXPLAIN_PREDICT template: `scoring`'s predicted label, then the explanation. The SQL
    expressions (per-feature `attributions`, `baseline`, the explained `prediction`) may read the
    scoring's internal columns; they are computed once, in a layer of their own."""
    names = [f"__ml_a{j}" for j in range(len(attributions))]
    layer = [*zip(names, attributions, strict=True), ("__ml_base", baseline), ("__ml_value", prediction)]
    items = ", ".join(
        f"{{'k': abs({a}), 'feature': {sql_literal(name)}, 'attribution': {a}}}"
        for name, a in zip(feature_names, names, strict=True)
    )
    top = (
        f"list_transform(list_slice(list_reverse_sort([{items}]), 1, {TOP_K}), "
        f"lambda s: {{'feature': s.feature, 'attribution': s.attribution}})"
    )
    total = " + ".join(names) or "0"
    outputs = [scoring.outputs[0]]
    if probability is not None:
        outputs.append(("probability", probability))
    outputs += [
        ("top_feature_attributions", f"CAST({top} AS {ATTRIBUTION})"),
        ("baseline_prediction_value", "__ml_base"),
        ("prediction_value", "__ml_value"),
        ("approximation_error", f"abs(__ml_value - __ml_base - ({total}))"),
    ]
    return Scoring(scoring.features, [*scoring.layers, layer], outputs).predict_sql()


def glm_explain(
    pre: Preprocessor,
    scoring: Scoring,
    classes: Classes | None,
    coef: np.ndarray,
    intercept: np.ndarray | float,
) -> str:
    """ML.EXPLAIN_PREDICT of a linear or logistic regression (exact)."""
    names = [f.name for f in pre.features]
    refs = scoring.features.refs
    if classes is None or len(classes.values) == 2:
        terms, baseline = glm_attributions(pre, refs, coef, float(intercept))
        # Binary: the positive class's logit, negated when the negative class is predicted.
        sign = "" if classes is None else f"(CASE WHEN {predicted_index(classes)} = 1 THEN 1 ELSE -1 END) * "
        value = f"({float_literal(baseline)} + {' + '.join(terms)})"
        return explain_sql(
            scoring,
            names,
            [f"{sign}({t})" for t in terms],
            f"{sign}{float_literal(baseline)}",
            f"{sign}{value}",
            None if classes is None else probability_of_predicted(classes),
        )
    per_class = [
        glm_attributions(pre, refs, coef[:, c], float(intercept[c])) for c in range(len(classes.values))
    ]
    index = predicted_index(classes)

    def pick(values: Sequence[str]) -> str:
        return f"CASE {index} " + " ".join(f"WHEN {c} THEN {v}" for c, v in enumerate(values)) + " END"

    attributions = [pick([terms[j] for terms, _ in per_class]) for j in range(len(names))]
    baselines = [float_literal(b) for _, b in per_class]
    values = [f"({float_literal(b)} + {' + '.join(terms)})" for terms, b in per_class]
    return explain_sql(
        scoring, names, attributions, pick(baselines), pick(values), probability_of_predicted(classes)
    )


def tree_explain(scoring: Scoring, feature_names: Sequence[str], classes: Classes | None, token: str) -> str:
    """ML.EXPLAIN_PREDICT of a tree model: tree SHAP from the UDF, per explained output. The
    UDF returns, per output, one value per feature then the bias (the baseline)."""
    width = len(feature_names) + 1
    encoded = ", ".join(f"__ml_x{j}" for j in range(len(feature_names)))
    shap = Scoring(
        scoring.features,
        [*scoring.layers, [("__ml_shap", f"{SHAP_UDF}({sql_literal(token)}, [{encoded}])")]],
        scoring.outputs,
    )
    sign, offset, value = "", "0", "__ml_m0"
    if classes is not None and len(classes.values) == 2:
        sign = f"(CASE WHEN {predicted_index(classes)} = 1 THEN 1 ELSE -1 END) * "
    elif classes is not None:
        index = predicted_index(classes)
        offset = f"({index}) * {width}"
        value = (
            f"CASE {index} "
            + " ".join(f"WHEN {c} THEN __ml_m{c}" for c in range(len(classes.values)))
            + " END"
        )
    attributions = [f"{sign}__ml_shap[{offset} + {j + 1}]" for j in range(len(feature_names))]
    return explain_sql(
        shap,
        feature_names,
        attributions,
        f"{sign}__ml_shap[{offset} + {width}]",
        f"{sign}{value}",
        None if classes is None else probability_of_predicted(classes),
    )


def predicted_index(classes: Classes) -> str:
    """SQL: the index of the predicted class, from the probability columns `__ml_p<k>`."""
    k = len(classes.values)
    if k == 2:
        return f"CASE WHEN __ml_p1 > {THRESHOLD} THEN 1 ELSE 0 END"
    best = f"greatest({', '.join(f'__ml_p{c}' for c in range(k))})"
    return f"CASE {best} " + " ".join(f"WHEN __ml_p{c} THEN {c}" for c in range(k)) + " END"


def probability_of_predicted(classes: Classes) -> str:
    k = len(classes.values)
    if k == 2:
        return f"CASE WHEN __ml_p1 > {THRESHOLD} THEN __ml_p1 ELSE __ml_p0 END"
    return f"greatest({', '.join(f'__ml_p{c}' for c in range(k))})"
