"""What the catalog knows of one BigQuery ML model type: everything that is specific to it, in one
record that its family's module fills in and the rest of the engine reads (ml/model_types/catalog.py
lists them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ml.compile.layers import Scoring
from ml.model_types.option import Constraint
from ml.model_types.training_data import TrainingData
from ml.sql.statements import CreateModel


@dataclass(frozen=True)
class Task:
    """What a model type learns: whether it has a label, the columns of its ML.EVALUATE over an
    input table (what tuning and promotion compare; none where ML.EVALUATE takes no input), and
    the metric hyperparameter tuning optimises by default."""

    name: str
    supervised: bool
    metrics: tuple[str, ...]
    tuning_objective: str | None = None


REGRESSION = Task(
    "regression",
    True,
    (
        "mean_absolute_error",
        "mean_squared_error",
        "mean_squared_log_error",
        "median_absolute_error",
        "r2_score",
        "explained_variance",
    ),
    "r2_score",
)
CLASSIFICATION = Task(
    "classification", True, ("precision", "recall", "accuracy", "f1_score", "log_loss", "roc_auc"), "roc_auc"
)
CLUSTERING = Task("clustering", False, ("davies_bouldin_index", "mean_squared_distance"))
DIMENSIONALITY_REDUCTION = Task("dimensionality_reduction", False, ())
FORECASTING = Task("forecasting", False, ())
# Imported and remote models: made from a file or an endpoint, not trained; ML.PREDICT only.
IMPORTED = Task("imported", False, ())


@dataclass(frozen=True)
class ScalarUDF:
    """A vectorised Arrow UDF the templates of a model type call as `name(token, values)`:
    `function(scorer, values)` gets the model's loaded scorer (booster, network, imported graph,
    endpoint client) for the token and the DuckDB vector of `takes` values (one list of numbers
    per row unless said otherwise), and returns one `returns` value per row."""

    name: str
    function: Callable[[Any, pa.Array], pa.Array]
    returns: str
    takes: str = "DOUBLE[]"


@dataclass
class Fitted:
    """What a fit step hands back for storage (scoring None: no ML.PREDICT).

    - `input_templates`: functions over an input (ML.EVALUATE & co.); their no-input forms are
      computed at training over the eval split.
    - `fixed_templates`: functions answered by a constant relation (ML.WEIGHTS, ML.TRAINING_INFO).
    - `input_only_templates`: functions that exist only with an input (ML.EXPLAIN_PREDICT), and the
      `<function>_udf` variants of the others.
    - `scorer`: the object the model's UDFs run, when the fit or build step has it loaded already
      (cached under `state["token"]` instead of being rebuilt from `state`).
    - `explained_features`: the features ML.EXPLAIN_PREDICT attributes to, in order (for
      ML.GLOBAL_EXPLAIN, computed from it at training when enable_global_explain is set).
    """

    scoring: Scoring | None
    input_templates: dict[str, str]
    fixed_templates: dict[str, str]
    state: dict[str, Any]
    input_only_templates: dict[str, str] = field(default_factory=dict)
    scorer: Any = None
    explained_features: list[str] = field(default_factory=list)


def _no_checks(options: dict[str, Any], raw: dict[str, Any]) -> None:
    """A model type whose options do not depend on each other."""


@dataclass(frozen=True)
class ModelType:
    """One model type: what CREATE MODEL accepts for it and how it trains and answers ML.*.

    - `options`: every option it accepts, with BigQuery's default (the shared ones included).
    - `check(options, raw)`: the rules tying options together, given the validated options and the
      options as written.
    - `fit(data)`: trains on the prepared training data (None for imported and remote models).
    - `build(statement, options)`: makes an imported or remote model from its statement (a
      MODEL_PATH, an endpoint): no training query.
    - `takes_input_output`: a type whose CREATE MODEL may spell out its input and output schema in
      INPUT (...) OUTPUT (...) clauses (remote models, imported boosters).
    - `functions`: the ML.* table functions it answers (lower case, as ml.sql.calls names them).
    - `column_options`: options naming columns of the training query that are not features.
    - `reads_whole_query`: a time-series type, reading the training query itself (no label,
      features or split).
    - `expands_timestamps`: TIMESTAMP inputs become unix seconds plus calendar parts.
    - `udfs` / `load_scorer(state)`: the UDFs its templates call and how a stored model's scorer
      is rebuilt from its `state` in a new process.
    """

    name: str
    task: Task
    options: Mapping[str, Constraint]
    fit: Callable[[TrainingData], Fitted] | None
    functions: frozenset[str]
    check: Callable[[dict[str, Any], dict[str, Any]], None] = _no_checks
    column_options: tuple[str, ...] = ()
    reads_whole_query: bool = False
    expands_timestamps: bool = False
    udfs: tuple[ScalarUDF, ...] = ()
    load_scorer: Callable[[dict[str, Any]], Any] | None = None
    build: Callable[[CreateModel, dict[str, Any]], Fitted] | None = None
    takes_input_output: bool = False

    @property
    def supervised(self) -> bool:
        return self.task.supervised
