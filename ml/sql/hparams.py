"""HPARAM_RANGE(min, max) and HPARAM_CANDIDATES([...]) option values (hyperparameter tuning).

They stay JSON-able dicts in the validated options (`{"hparam_range": [min, max]}`,
`{"hparam_candidates": [...]}`), so a tuned model's options are stored as written; ml/engine/tuning.py
draws each trial's values from them.
"""

from __future__ import annotations

from typing import Any

from ml.errors import MLError

RANGE = "hparam_range"
CANDIDATES = "hparam_candidates"


def spec_from_call(function: str, args: list[Any]) -> dict[str, list[Any]] | None:
    """The spec an HPARAM_* call stands for; None for any other function."""
    name = function.lower()
    if name == RANGE:
        numeric = all(isinstance(a, int | float) and not isinstance(a, bool) for a in args)
        if len(args) != 2 or not numeric or args[0] > args[1]:
            raise MLError("HPARAM_RANGE expects two numbers, min <= max")
        return {RANGE: list(args)}
    if name == CANDIDATES:
        if len(args) != 1 or not isinstance(args[0], list) or not args[0]:
            raise MLError("HPARAM_CANDIDATES expects a non-empty array of candidates")
        return {CANDIDATES: args[0]}
    return None


def is_spec(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in (RANGE, CANDIDATES)
