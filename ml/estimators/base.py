"""What every estimator shares: its CREATE MODEL options as keyword-only constructor parameters,
stored as given, and the check that a model is fitted before it is used.

An estimator declares no defaults or ranges of its own: those are BigQuery's, written once in the
model type's module (ml/model_types), and the options are validated before an estimator is made
from them (`from_options`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Self

from ml.errors import MLError


class BaseModel:
    """Base class: constructor parameters are the model's CREATE MODEL options, stored as given."""

    @classmethod
    def parameter_names(cls) -> list[str]:
        """The constructor's parameters, with those an `**options` parameter passes to the base."""
        names: dict[str, None] = {}
        for klass in cls.__mro__:
            if "__init__" not in vars(klass) or klass is object:
                continue
            parameters = list(inspect.signature(klass.__init__).parameters.values())[1:]
            names.update((p.name, None) for p in parameters if p.kind is p.KEYWORD_ONLY)
            if not any(p.kind is p.VAR_KEYWORD for p in parameters):
                break
        return list(names)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Self:
        """The estimator for a statement's validated options: each parameter the model type has
        an option for (a tree regressor has no class weights) from that option."""
        return cls(**{name: options[name] for name in cls.parameter_names() if name in options})

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters and their current values."""
        return {name: getattr(self, name) for name in self.parameter_names()}

    def _check_is_fitted(self) -> None:
        if not any(name.endswith("_") and not name.startswith("_") for name in vars(self)):
            raise MLError(f"{type(self).__name__} is not fitted yet: call fit first")
