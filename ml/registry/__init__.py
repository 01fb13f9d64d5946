"""The model registry: immutable versions, aliases, champion/challenger promotion, rollback."""

from ml.registry.registry import (
    CHALLENGER,
    CHAMPION,
    EXTERNAL,
    Promotion,
    Recorded,
    Registry,
    Trained,
    parse_model,
)

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "EXTERNAL",
    "Promotion",
    "Recorded",
    "Registry",
    "Trained",
    "parse_model",
]
