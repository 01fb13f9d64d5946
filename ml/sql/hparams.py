"""HPARAM_RANGE(min, max) and HPARAM_CANDIDATES([...]) option values (hyperparameter tuning).

They stay JSON-able dicts in the validated options (`{"hparam_range": [min, max]}`,
`{"hparam_candidates": [...]}`), so a tuned model's options are stored as written; ml/tuning.py
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


def check_spec(constraint: Any, name: str, spec: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Every candidate (or both bounds) must be a valid value of the option itself."""
    if RANGE in spec:
        if constraint.kind not in ("int", "float"):
            raise MLError(f"Invalid value for option {name}: HPARAM_RANGE needs a numeric option")
        low, high = spec[RANGE]
        if constraint.kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
            raise MLError(f"Invalid value for option {name}: HPARAM_RANGE bounds must be integers")
        for bound in (low, high):
            constraint.check(name, int(bound) if constraint.kind == "int" else bound)
        return spec
    return {CANDIDATES: [constraint.check(name, v) for v in spec[CANDIDATES]]}
