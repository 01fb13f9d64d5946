"""How a model type declares one CREATE MODEL option: its type, range and BigQuery's default,
checked when a statement's options are validated (written once, in the model type's module)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ml.errors import MLError
from ml.sql.hparams import CANDIDATES, RANGE


@dataclass(frozen=True)
class Constraint:
    """What one option accepts. `kind` is one of string, enum, bool, float, int, string_list,
    class_weights; `low`/`high` bound numbers (inclusive unless `open_low`)."""

    kind: str
    default: Any = None
    choices: tuple[str, ...] = ()
    low: float = -math.inf
    high: float = math.inf
    open_low: bool = False

    def check(self, name: str, value: Any) -> Any:
        """Return `value` normalised (enums upper-cased, ints as floats where floats are wanted)."""
        if value is None:
            return None
        checker = getattr(self, f"_check_{self.kind}")
        return checker(name, value)

    def _check_string(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise MLError(f"Invalid value for option {name}: expected STRING, got {_sql_repr(value)}")
        return value

    def _check_enum(self, name: str, value: Any) -> str:
        upper = self._check_string(name, value).upper()
        if upper not in self.choices:
            raise MLError(self.invalid_choice_message(name, value))
        return upper

    def invalid_choice_message(self, name: str, value: str) -> str:
        """What a value outside an enum's choices is told."""
        return f"Invalid value for option {name}: '{value}'. Supported values: {', '.join(self.choices)}"

    def _check_bool(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise MLError(f"Invalid value for option {name}: expected BOOL, got {_sql_repr(value)}")
        return value

    def _check_float(self, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MLError(f"Invalid value for option {name}: expected FLOAT64, got {_sql_repr(value)}")
        self._check_range(name, value)
        return float(value)

    def _check_int(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise MLError(f"Invalid value for option {name}: expected INT64, got {_sql_repr(value)}")
        self._check_range(name, value)
        return value

    def _check_range(self, name: str, value: float) -> None:
        too_low = value <= self.low if self.open_low else value < self.low
        if too_low or value > self.high or math.isnan(value):
            low = "(" if self.open_low else "["
            raise MLError(
                f"Invalid value for option {name}: {value} is out of range {low}{self.low}, {self.high}]"
            )

    def _check_string_list(self, name: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise MLError(f"Invalid value for option {name}: expected ARRAY<STRING>, got {_sql_repr(value)}")
        return value

    def _check_int_list(self, name: str, value: Any) -> list[int]:
        ints = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        if not ints:
            raise MLError(f"Invalid value for option {name}: expected ARRAY<INT64>, got {_sql_repr(value)}")
        for v in value:
            self._check_range(name, v)
        return value

    def _check_column_list(self, name: str, value: Any) -> list[str]:
        """A column name or an array of them (time_series_id_col takes both)."""
        if isinstance(value, str):
            return [value]
        return self._check_string_list(name, value)

    def _check_order(self, name: str, value: Any) -> tuple[int, int, int]:
        """An ARIMA order STRUCT(p, d, q) of non-negative integers."""
        ok = isinstance(value, tuple | list) and len(value) == 3
        if not ok or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
            raise MLError(f"Invalid value for option {name}: expected STRUCT(p, d, q) of non-negative INT64")
        return tuple(value)

    def _check_class_weights(self, name: str, value: Any) -> dict[str, float]:
        if isinstance(value, dict):  # already checked once (options, then the estimator's fit)
            value = list(value.items())
        pairs_ok = isinstance(value, list) and all(
            isinstance(p, tuple)
            and len(p) == 2
            and isinstance(p[0], str)
            and isinstance(p[1], int | float)
            and not isinstance(p[1], bool)
            for p in value
        )
        if not pairs_ok:
            raise MLError(f"Invalid value for option {name}: expected ARRAY<STRUCT<STRING, FLOAT64>>")
        weights = {label: float(weight) for label, weight in value}
        if any(w < 0 or not math.isfinite(w) for w in weights.values()):
            raise MLError(f"Invalid value for option {name}: weights must be finite and non-negative")
        return weights


def enum(default: str | None, *choices: str) -> Constraint:
    """An option taking one of `choices` (case-insensitive, stored upper case)."""
    return Constraint("enum", default, choices)


BOOL_FALSE = Constraint("bool", False)
BOOL_TRUE = Constraint("bool", True)


def check_spec(constraint: Constraint, name: str, spec: dict[str, list[Any]]) -> dict[str, list[Any]]:
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


def _sql_repr(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return str(value).upper()
    return repr(value)
