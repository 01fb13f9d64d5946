"""What every estimator shares: declared parameter constraints, checked in `fit`; fitted checks."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from ml.errors import MLError
from ml.sql.options import Constraint


class BaseModel:
    """Base class: constructor parameters are the model's CREATE MODEL options, stored as given."""

    _parameter_constraints: ClassVar[dict[str, Constraint]] = {}

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters and their current values."""
        names: dict[str, None] = {}
        for cls in type(self).__mro__:
            if "__init__" in vars(cls) and cls is not object:
                for param in inspect.signature(cls.__init__).parameters.values():
                    if param.name != "self" and param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                        names[param.name] = None
        return {name: getattr(self, name) for name in names}

    def _validate_params(self) -> None:
        for name, value in self.get_params().items():
            constraint = self._parameter_constraints.get(name)
            if constraint is not None:
                setattr(self, name, constraint.check(name, value))

    def _check_is_fitted(self) -> None:
        if not any(name.endswith("_") and not name.startswith("_") for name in vars(self)):
            raise MLError(f"{type(self).__name__} is not fitted yet: call fit first")
