"""Hyperparameter tuning: num_trials, HPARAM_RANGE / HPARAM_CANDIDATES, ML.TRIAL_INFO.

As in BigQuery, tuning splits the training query three ways (by default 80 % train, 10 % eval,
10 % test, deterministic by row hash): every trial trains on the train rows and is scored on the
eval rows with the tuning objective (the default of the model type's task: r2_score for regressors,
roc_auc for classifiers; or hparam_tuning_objectives); the best trial becomes the model, and its
no-input ML.EVALUATE (& co.) is recomputed on the test rows, which no trial saw.

Local differences, by design: trials run one after the other (max_parallel_trials is accepted);
VIZIER_DEFAULT is random search (seeded, so reruns draw the same trials); only options written as
HPARAM_RANGE / HPARAM_CANDIDATES are tuned (no default search spaces); one objective.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from ml.compile.evaluation import LOWER_IS_BETTER
from ml.engine.store import StoredModel
from ml.engine.training import Trainer, with_defaults
from ml.errors import MLError
from ml.literals import values_relation
from ml.model_types import catalog
from ml.sql.hparams import CANDIDATES, RANGE, is_spec
from ml.sql.statements import CreateModel

SEED = 0
SPLIT_COLUMN = "__ml_tuning_eval"
DEFAULT_EVAL_FRACTION = 0.1
DEFAULT_TEST_FRACTION = 0.1
# No-input forms answered from the eval split at training; a tuned model answers from the test split.
SPLIT_SNAPSHOTS = ("evaluate", "confusion_matrix", "roc_curve")
SQL_TYPES = {"int": "BIGINT", "float": "DOUBLE"}


def train(
    con: duckdb.DuckDBPyConnection,
    translate: Callable[[str], str],
    statement: CreateModel,
    options: dict[str, Any],
) -> StoredModel:
    """CREATE MODEL: tuned when num_trials is set, a single fit otherwise."""
    specs = {name: value for name, value in options.items() if is_spec(value)}
    if options.get("num_trials") is None:
        if specs:
            raise MLError(f"Option {next(iter(specs))} uses HPARAM_RANGE/HPARAM_CANDIDATES: set num_trials")
        if options.get("data_split_test_fraction") is not None:
            raise MLError("data_split_test_fraction can only be set with hyperparameter tuning (num_trials)")
        return Trainer(con, translate, statement, options).run()
    if not specs:
        raise MLError(
            "num_trials needs at least one option given as HPARAM_RANGE(...) or HPARAM_CANDIDATES([...]) "
            "(the local engine has no default search spaces)"
        )
    return Tuner(con, translate, statement, options, specs).run()


@dataclass
class Trial:
    """One row of ML.TRIAL_INFO."""

    trial_id: int
    hyperparameters: dict[str, Any]
    metrics: dict[str, float] | None = None
    training_loss: float | None = None
    eval_loss: float | None = None
    status: str = "SUCCEEDED"
    error_message: str | None = None
    model: StoredModel | None = None


class Tuner:
    """Runs the trials of one tuned CREATE MODEL and keeps the best."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        translate: Callable[[str], str],
        statement: CreateModel,
        options: dict[str, Any],
        specs: dict[str, dict[str, list[Any]]],
    ) -> None:
        self.con, self.translate, self.statement = con, translate, statement
        self.options, self.specs = options, specs
        self.model_type = catalog.model_type(options["model_type"])
        self.table = self.model_type.options
        self.objective = self._objective()
        self.eval_fraction, self.test_fraction = self._fractions()

    def _objective(self) -> str:
        objectives = self.options["hparam_tuning_objectives"]
        if objectives and len(objectives) > 1:
            raise MLError(
                "Invalid value for option hparam_tuning_objectives: the local engine tunes one objective"
            )
        task = self.model_type.task
        if not objectives:
            return task.tuning_objective
        objective = objectives[0].lower()
        if objective not in task.metrics:  # fail before any trial trains
            raise MLError(
                f"Invalid value for option hparam_tuning_objectives: {objective} is not an objective of "
                f"{self.model_type.name.lower()} (one of {', '.join(sorted(task.metrics))})"
            )
        return objective

    def _fractions(self) -> tuple[float, float]:
        method = self.options["data_split_method"]
        if method not in ("AUTO_SPLIT", "RANDOM"):
            raise MLError(
                f"data_split_method {method} is not supported with hyperparameter tuning by the local engine "
                f"(AUTO_SPLIT or RANDOM)"
            )
        evaluation = (
            DEFAULT_EVAL_FRACTION if method == "AUTO_SPLIT" else self.options["data_split_eval_fraction"]
        )
        test = self.options["data_split_test_fraction"]
        test = DEFAULT_TEST_FRACTION if test is None else test
        if evaluation + test >= 1:
            raise MLError("data_split_eval_fraction + data_split_test_fraction must be below 1")
        return round(evaluation, 2), round(test, 2)

    def _hashed(self, query: str) -> str:
        return f"SELECT *, hash(__ml_q) % 1000000 AS __ml_h FROM ({self.translate(query)}) AS __ml_q"

    def _trial_translate(self, query: str) -> str:
        """The training query without its test rows, with the eval rows marked for a CUSTOM split."""
        if query != self.statement.query:
            return self.translate(query)
        test, cut = round(self.test_fraction * 1e6), round((self.test_fraction + self.eval_fraction) * 1e6)
        return (
            f"SELECT * EXCLUDE (__ml_h), __ml_h < {cut} AS {SPLIT_COLUMN} "
            f"FROM ({self._hashed(query)}) AS __ml_t WHERE __ml_h >= {test}"
        )

    def test_rows(self) -> str:
        test = round(self.test_fraction * 1e6)
        hashed = self._hashed(self.statement.query)
        return f"SELECT * EXCLUDE (__ml_h) FROM ({hashed}) AS __ml_t WHERE __ml_h < {test}"

    def draws(self) -> list[dict[str, Any]]:
        """Each trial's values of the tuned options."""
        n = self.options["num_trials"]
        if self.options["hparam_tuning_algorithm"] == "GRID_SEARCH":
            ranged = [name for name, spec in self.specs.items() if RANGE in spec]
            if ranged:
                raise MLError(f"GRID_SEARCH needs HPARAM_CANDIDATES, but {ranged[0]} is an HPARAM_RANGE")
            names = list(self.specs)
            grid = itertools.product(*(self.specs[name][CANDIDATES] for name in names))
            return [dict(zip(names, values, strict=True)) for values in itertools.islice(grid, n)]
        rng = np.random.default_rng(SEED)
        return [{name: self._draw(name, spec, rng) for name, spec in self.specs.items()} for _ in range(n)]

    def _draw(self, name: str, spec: dict[str, list[Any]], rng: np.random.Generator) -> Any:
        if CANDIDATES in spec:
            return spec[CANDIDATES][int(rng.integers(len(spec[CANDIDATES])))]
        low, high = spec[RANGE]
        if self.table[name].kind == "int":
            return int(rng.integers(int(low), int(high) + 1))
        if low > 0 and high / low >= 100:  # wide positive ranges are searched on a log scale
            return float(math.exp(rng.uniform(math.log(low), math.log(high))))
        return float(rng.uniform(low, high))

    def run(self) -> StoredModel:
        trials = [self._run_trial(i + 1, values) for i, values in enumerate(self.draws())]
        done = [t for t in trials if t.status == "SUCCEEDED"]
        if not done:
            raise MLError(f"All {len(trials)} trials failed; the first: {trials[0].error_message}")
        sign = 1 if self.objective in LOWER_IS_BETTER else -1
        best = min(done, key=lambda t: (sign * t.metrics[self.objective], t.trial_id))
        return self._final(best, trials)

    def _run_trial(self, trial_id: int, values: dict[str, Any]) -> Trial:
        trial = Trial(trial_id, values)
        options = {
            **self.options,
            **values,
            "data_split_method": "CUSTOM",
            "data_split_col": SPLIT_COLUMN,
        }
        try:
            trial.model = Trainer(self.con, self._trial_translate, self.statement, options).run()
            trial.metrics = self._metrics(trial.model)
            trial.training_loss, trial.eval_loss = self._losses(trial.model)
        except MLError as exc:
            trial.status, trial.error_message = "FAILED", str(exc)
        return trial

    def _metrics(self, model: StoredModel) -> dict[str, float]:
        table = self.con.sql(model.templates[("evaluate", False)]).to_arrow_table().to_pylist()[0]
        if self.objective not in table:
            raise MLError(
                f"Invalid value for option hparam_tuning_objectives: {self.objective} is not a metric of "
                f"{self.options['model_type'].lower()} (one of {', '.join(table)})"
            )
        return {self.objective: table[self.objective]}

    def _losses(self, model: StoredModel) -> tuple[float | None, float | None]:
        info = self.con.execute(model.templates[("training_info", False)]).fetchall()
        if not info:
            return None, None
        columns = [d[0] for d in self.con.execute(model.templates[("training_info", False)]).description]
        last = dict(zip(columns, info[-1], strict=True))
        return last.get("loss"), last.get("eval_loss")

    def _final(self, best: Trial, trials: list[Trial]) -> StoredModel:
        model = best.model
        model.options = self.options
        model.state = {**model.state, "optimal_trial_id": best.trial_id}
        if self.test_fraction > 0:
            for function in SPLIT_SNAPSHOTS:
                if (function, True) in model.templates:
                    model.templates[(function, False)] = self._snapshot(
                        with_defaults(model.templates[(function, True)], f"({self.test_rows()})")
                    )
        model.templates[("trial_info", False)] = self._trial_info(trials, best.trial_id)
        return model

    def _snapshot(self, sql: str) -> str:
        columns = [(r[0], r[1]) for r in self.con.execute(f"DESCRIBE {sql}").fetchall()]
        return values_relation(columns, self.con.execute(sql).fetchall())

    def _trial_info(self, trials: list[Trial], optimal: int) -> str:
        hyper = ", ".join(f"{name} {SQL_TYPES.get(self.table[name].kind, 'VARCHAR')}" for name in self.specs)
        columns = [
            ("trial_id", "BIGINT"),
            ("hyperparameters", f"STRUCT({hyper})"),
            ("hparam_tuning_evaluation_metrics", f"STRUCT({self.objective} DOUBLE)"),
            ("training_loss", "DOUBLE"),
            ("eval_loss", "DOUBLE"),
            ("status", "VARCHAR"),
            ("error_message", "VARCHAR"),
            ("is_optimal", "BOOLEAN"),
        ]
        rows = [
            (
                t.trial_id,
                t.hyperparameters,
                t.metrics or {self.objective: None},
                t.training_loss,
                t.eval_loss,
                t.status,
                t.error_message,
                t.trial_id == optimal,
            )
            for t in trials
        ]
        return values_relation(columns, rows) + " ORDER BY trial_id"
