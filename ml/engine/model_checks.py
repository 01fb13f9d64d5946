"""What a fit must hand back before it is stored: a model with a NaN or infinite weight, centroid,
tree value or statistic predicts nothing useful, so it is refused and the previous model stays (a
failed CREATE OR REPLACE replaces nothing, as in BigQuery)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ml.errors import MLError
from ml.literals import float_literal
from ml.model_types.model_type import Fitted

# How a non-finite number appears in a compiled template (ml.literals.float_literal).
NON_FINITE_LITERALS = tuple(float_literal(v) for v in (math.nan, math.inf, -math.inf))


def non_finite_path(value: Any, path: str) -> str | None:
    """Where the first NaN or infinity inside a JSON-like value is (`state.coef[3]`), or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        return _first(non_finite_path(v, f"{path}.{k}") for k, v in value.items())
    if isinstance(value, list | tuple):
        return _first(non_finite_path(v, f"{path}[{i}]") for i, v in enumerate(value))
    return None


def _first(paths: Iterable[str | None]) -> str | None:
    return next((p for p in paths if p is not None), None)


def refuse_non_finite_model(model_type: str, fitted: Fitted) -> None:
    """MLError when the fitted state or a compiled template holds a NaN or an infinity."""
    where = non_finite_path(fitted.state, "state")
    if where is None:
        templates = {
            **({"predict": fitted.scoring.predict_sql()} if fitted.scoring else {}),
            **fitted.input_templates,
            **fitted.fixed_templates,
            **fitted.input_only_templates,
        }
        broken = [name for name, sql in templates.items() if any(x in sql for x in NON_FINITE_LITERALS)]
        where = f"its {broken[0]} template" if broken else None
    if where is not None:
        raise MLError(
            f"Training the {model_type.lower()} model produced NaN or infinite values ({where}): the model "
            "is not stored and the previous one, if any, stays. Scale the features or lower learn_rate"
        )
