"""Model versions, aliases and promotions, the same on every target.

Every training is a new immutable version `dataset.name__v<N>`; aliases (`champion`, `challenger`,
custom ones) name versions; the unversioned `dataset.name` serves the champion, or the newest
version while there is none. Each change (train, promote, rollback, alias) is one transaction on the
backend; the crash points name the steps inside it (see faults.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ml.errors import MLError
from ml.names import ModelName, parse_model_path
from ml.registry import schema
from ml.registry.ddl import parse_create, version_name, versioned_statement
from ml.registry.faults import crash_point
from ml.registry.promotion import Decision, decide
from ml.sql.statements import CreateModel

CHAMPION = "champion"
CHALLENGER = "challenger"
READY = "ready"
EXTERNAL = "external"  # trained outside the warehouse (Spark, PyTorch): an artifact, no engine model
RETIRED = "retired"  # dropped by retention: its row and metrics stay, its model does not
# How many of a model's newest warehouse versions training keeps (aliased ones are always kept).
DEFAULT_KEEP_VERSIONS = 10
# Alias names; the dbt macros check the same pattern (the generated contract).
ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


class Backend(Protocol):
    """A warehouse the registry runs on (LocalBackend, BigQueryBackend)."""

    dialect: str
    serves_by_name: bool  # whether the unversioned name is itself a model serving a version

    def schema_sql(self, schema: str) -> str: ...
    def table_sql(self, schema: str, table: str) -> str: ...
    def version_options(self, model: ModelName, version: int) -> dict[str, str | list[str]]: ...
    def model_sql(self, name: ModelName) -> str: ...
    def relation_sql(self, name: ModelName) -> str: ...
    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...
    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None: ...
    def guarded(self, sql: str, params: dict[str, Any], message: str) -> None: ...
    def ml_rows(self, sql: str) -> list[dict[str, Any]]: ...
    def create_model(self, statement: CreateModel) -> None: ...
    def execute_ddl(self, sql: str) -> None: ...
    def transaction(self) -> AbstractContextManager[Backend]: ...
    def fingerprint(self, query: str) -> str: ...
    def columns(self, relation: ModelName) -> list[str]: ...
    def has_table(self, schema: str, table: str) -> bool: ...
    def model_exists(self, name: ModelName) -> bool: ...
    def model_info(self, name: ModelName) -> dict[str, Any]: ...
    def version_models(self, model: ModelName) -> list[int]: ...
    def drop_model(self, name: ModelName) -> None: ...
    def serve(self, model: ModelName, version: int) -> None: ...
    def serving(self, model: ModelName) -> int | None: ...


@dataclass(frozen=True)
class Trained:
    model: ModelName
    version: int
    serving: bool  # whether the unversioned name now serves it (no champion yet)
    retired: tuple[int, ...] = ()  # old versions retention dropped with this training


@dataclass(frozen=True)
class Recorded:
    model: ModelName
    version: int
    artifact_uri: str


@dataclass(frozen=True)
class Promotion:
    model: ModelName
    champion: int | None
    challenger: int
    metric: str
    decision: Decision


def parse_model(text: str) -> ModelName:
    """`dataset.name` (as the CLI takes it) to a ModelName; a version suffix is refused."""
    name = parse_model_path(text.split("."))
    if re.search(r"__v[0-9]+$", name.model):
        raise MLError(f"{name} is a version: name the model ({name.model.rsplit('__v', 1)[0]})")
    return name


class Registry:
    """The registry's operations over one backend; `triggered_by` is recorded with every change."""

    def __init__(
        self, backend: Backend, triggered_by: str = "cli", registry_schema: str | None = None
    ) -> None:
        self.backend = backend
        self.triggered_by = triggered_by
        self.schema = registry_schema or schema.SCHEMA

    def table(self, name: str) -> str:
        return self.backend.table_sql(self.schema, name)

    def _ensure_tables(self) -> None:
        for statement in schema.create_statements(
            self.backend.dialect, self.backend.schema_sql(self.schema), self.table
        ):
            self.backend.execute_ddl(statement)

    def _has_tables(self) -> bool:
        return self.backend.has_table(self.schema, "model_versions")

    # Reads ------------------------------------------------------------------------------------

    def versions(self, model: ModelName) -> list[dict[str, Any]]:
        """Every version of `model`, oldest first; MLError when the registry has none."""
        found = self._versions(model)
        if not found:
            raise MLError(f"Not found: Model {model} has no registered versions")
        return found

    def _versions(self, model: ModelName) -> list[dict[str, Any]]:
        if not self._has_tables():
            return []
        return self.backend.rows(
            f"SELECT * FROM {self.table('model_versions')} WHERE model = @model ORDER BY version",
            {"model": str(model)},
        )

    def aliases(self, model: ModelName) -> dict[str, int]:
        if not self._has_tables():
            return {}
        rows = self.backend.rows(
            f"SELECT alias, version FROM {self.table('model_aliases')} WHERE model = @model ORDER BY alias",
            {"model": str(model)},
        )
        return {row["alias"]: row["version"] for row in rows}

    def decisions(self, model: ModelName) -> list[dict[str, Any]]:
        if not self._has_tables():
            return []
        return self.backend.rows(
            f"SELECT * FROM {self.table('promotion_decisions')} WHERE model = @model ORDER BY decided_at",
            {"model": str(model)},
        )

    def resolve(self, model: ModelName, alias: str | None = None, version: int | None = None) -> int:
        """The version an alias or number pins; with neither, the one the unversioned name serves."""
        if alias is not None and version is not None:
            raise MLError("Pin a model by alias or by version, not both")
        rows = self.versions(model)
        known = [row["version"] for row in rows]
        if version is not None:
            if version not in known:
                raise MLError(f"Not found: version {version} of model {model} (versions: {_list(known)})")
            if rows[known.index(version)]["status"] == RETIRED:
                raise MLError(
                    f"Version {version} of model {model} was retired: its model was dropped (keep_versions)"
                )
            return version
        aliases = self.aliases(model)
        if alias is not None:
            if alias not in aliases:
                raise MLError(f"Not found: alias {alias!r} of model {model} (aliases: {_list(aliases)})")
            return aliases[alias]
        default = _serving_version(rows, aliases)
        if default is None:
            raise MLError(
                f"Model {model} has only externally trained versions ({_list(known)}): nothing serves it "
                f"in the warehouse; pin one with --version"
            )
        return default

    def default_version(self, model: ModelName) -> int | None:
        """The version the unversioned name serves (see _serving_version)."""
        return _serving_version(self._versions(model), self.aliases(model))

    # Changes ----------------------------------------------------------------------------------

    def train(self, ddl: str, keep_versions: int = DEFAULT_KEEP_VERSIONS) -> Trained | None:
        """Train `ddl` (CREATE [OR REPLACE] MODEL ds.m ...) as the next version of ds.m, retiring
        versions past the newest `keep_versions` that no alias names; None when IF NOT EXISTS
        found versions already."""
        statement = parse_create(ddl, getattr(self.backend, "database", None))
        model = statement.name
        check_keep_versions(keep_versions)
        with self.backend.transaction():
            self._ensure_tables()
            rows = self._versions(model)
            registered = [row["version"] for row in rows]
            if statement.if_not_exists and registered:
                return None
            version = max([0, *registered, *self.backend.version_models(model)]) + 1
            crash_point("train:begin")
            target = version_name(model, version)
            options = self.backend.version_options(model, version)
            self.backend.create_model(
                versioned_statement(statement, target, self.backend.model_sql(target), options)
            )
            crash_point("train:trained")
            metrics = self._training_metrics(version_name(model, version))
            self._record_version(model, version, statement, metrics, self._fingerprint(statement))
            crash_point("train:registered")
            self._set_alias(model, CHALLENGER, version)
            aliases = {**self.aliases(model), CHALLENGER: version}  # as committed, on any backend
            serving = CHAMPION not in aliases
            if serving:
                self.backend.serve(model, version)
            retired = versions_to_retire(
                [*rows, {"version": version, "status": READY}], aliases, keep_versions
            )
            self._retire(model, retired)
            crash_point("train:before-commit")
        crash_point("train:committed")
        return Trained(model, version, serving, tuple(retired))

    def _retire(self, model: ModelName, versions: list[int]) -> None:
        """Mark `versions` retired and drop their models: the registry row first, so a crash
        between the two leaves a retired version with a model (reported by `problems`), never a
        ready version without one."""
        for version in versions:
            self.backend.execute(
                f"UPDATE {self.table('model_versions')} SET status = '{RETIRED}' "
                "WHERE model = @model AND version = @version",
                {"model": str(model), "version": version},
            )
            self.backend.drop_model(version_name(model, version))

    def record_external(
        self,
        model: ModelName,
        artifact_uri: str,
        metrics: dict[str, Any],
        options: dict[str, Any] | None = None,
        fingerprint: str | None = None,
    ) -> Recorded:
        """Register a model trained outside the warehouse (a Spark job, a PyTorch run) as the next
        version of `model`: status `external`, the artifact's path in `options.artifact_uri`, its
        metrics in `eval_metrics`. No engine / BigQuery ML model is created, no alias moves and the
        unversioned name keeps serving what it served: such a version can be listed, compared and
        given custom aliases, never promoted to champion or scored."""
        if not artifact_uri:
            raise MLError("An externally trained version needs the path or URI of its artifact")
        with self.backend.transaction():
            self._ensure_tables()
            registered = [row["version"] for row in self._versions(model)]
            version = max([0, *registered, *self.backend.version_models(model)]) + 1
            crash_point("record:begin")
            self.backend.execute(
                f"INSERT INTO {self.table('model_versions')} ({', '.join(schema.columns('model_versions'))}) "
                "VALUES (@model, @version, @created_at, NULL, @options, @data_fingerprint, @eval_metrics, "
                f"@triggered_by, '{EXTERNAL}')",
                {
                    "model": str(model),
                    "version": version,
                    "created_at": _now(),
                    "options": json.dumps(
                        {**(options or {}), "artifact_uri": artifact_uri}, default=str, sort_keys=True
                    ),
                    "data_fingerprint": fingerprint,
                    "eval_metrics": json.dumps(metrics, default=str, sort_keys=True),
                    "triggered_by": self.triggered_by,
                },
            )
            crash_point("record:before-commit")
        return Recorded(model, version, artifact_uri)

    def _record_version(
        self,
        model: ModelName,
        version: int,
        statement: CreateModel,
        metrics: dict[str, Any],
        fingerprint: str,
    ) -> None:
        self.backend.execute(
            f"INSERT INTO {self.table('model_versions')} ({', '.join(schema.columns('model_versions'))}) "
            "VALUES (@model, @version, @created_at, @ddl, @options, @data_fingerprint, @eval_metrics, "
            f"@triggered_by, '{READY}')",
            {
                "model": str(model),
                "version": version,
                "created_at": _now(),
                "ddl": statement.ddl,
                "options": json.dumps(statement.options, default=str, sort_keys=True),
                "data_fingerprint": fingerprint,
                "eval_metrics": json.dumps(metrics, default=str, sort_keys=True),
                "triggered_by": self.triggered_by,
            },
        )

    def _fingerprint(self, statement: CreateModel) -> str:
        """What the version was made from: its training data, or for an imported or remote model
        (no training query) the statement itself, which names the file or endpoint."""
        if statement.query is None:
            return f"ddl={hashlib.sha256(statement.ddl.encode()).hexdigest()[:16]}"
        return self.backend.fingerprint(statement.query)

    def _training_metrics(self, target: ModelName) -> dict[str, Any]:
        """ML.EVALUATE without input (the eval split seen at training); {} for model types without it."""
        try:
            rows = self.backend.ml_rows(f"SELECT * FROM ML.EVALUATE(MODEL {self.backend.model_sql(target)})")
        except MLError:
            return {}
        return rows[0] if rows else {}

    def _set_alias(self, model: ModelName, alias: str, version: int) -> None:
        params = {"model": str(model), "alias": alias, "version": version, "updated_at": _now()}
        self.backend.execute(
            f"DELETE FROM {self.table('model_aliases')} WHERE model = @model AND alias = @alias", params
        )
        self.backend.execute(
            f"INSERT INTO {self.table('model_aliases')} (model, alias, version, updated_at) "
            "VALUES (@model, @alias, @version, @updated_at)",
            params,
        )

    def _move_champion(self, model: ModelName, expected: int | None, version: int) -> None:
        """Compare-and-set of the champion alias: fails unless the champion is still `expected`, so
        two promotions that scored against the same champion cannot both win."""
        params = {"model": str(model), "version": version, "expected": expected, "updated_at": _now()}
        lost = f"The champion of {model} changed while this decision was made: nothing changed, retry"
        if expected is None:
            self.backend.guarded(
                f"INSERT INTO {self.table('model_aliases')} (model, alias, version, updated_at) "
                f"SELECT @model, '{CHAMPION}', @version, @updated_at FROM (SELECT 1) AS one "
                f"WHERE NOT EXISTS (SELECT 1 FROM {self.table('model_aliases')} "
                f"WHERE model = @model AND alias = '{CHAMPION}')",
                params,
                lost,
            )
        else:
            self.backend.guarded(
                f"UPDATE {self.table('model_aliases')} SET version = @version, updated_at = @updated_at "
                f"WHERE model = @model AND alias = '{CHAMPION}' AND version = @expected",
                params,
                lost,
            )
        self.backend.serve(model, version)

    def _log(self, model: ModelName, **fields: Any) -> None:
        row = {name: None for name in schema.columns("promotion_decisions")}
        row.update(model=str(model), decided_at=_now(), triggered_by=self.triggered_by, **fields)
        self.backend.execute(
            f"INSERT INTO {self.table('promotion_decisions')} ({', '.join(row)}) "
            f"VALUES ({', '.join('@' + name for name in row)})",
            row,
        )

    def promote(
        self,
        model: ModelName,
        holdout: str,
        metric: str,
        min_gain: float = 0.0,
        challenger: int | None = None,
    ) -> Promotion:
        """Score champion and challenger on `holdout` in one query; promote when the challenger wins
        by more than `min_gain`. The decision is logged either way."""
        if min_gain < 0:
            raise MLError("--min-gain must be zero or positive: it is the margin the challenger must beat")
        metric = metric.lower()
        holdout_name = parse_model_path(holdout.split("."))
        with self.backend.transaction():
            self._repair_serving(model)
            aliases = self.aliases(model)
            champion = aliases.get(CHAMPION)
            if challenger is None and CHALLENGER not in aliases:
                self.versions(model)  # an unknown model says so first
                raise MLError(f"Model {model} has no challenger: train a new version first")
            challenger = self.resolve(model, CHALLENGER if challenger is None else None, challenger)
            if challenger == champion:
                raise MLError(f"Version {challenger} of {model} is already the champion: nothing to promote")
            self._check_promotion(
                model, [v for v in (champion, challenger) if v is not None], holdout_name, metric
            )
            crash_point("promote:begin")
            scores = self._scores(model, holdout_name, metric, champion, challenger)
            decision = decide(metric, scores.get(CHAMPION), scores[CHALLENGER], min_gain)
            crash_point("promote:scored")
            if decision.promoted:
                self._move_champion(model, champion, challenger)
                self.backend.execute(
                    f"DELETE FROM {self.table('model_aliases')} WHERE model = @model AND alias = @alias",
                    {"model": str(model), "alias": CHALLENGER},
                )
            crash_point("promote:aliased")
            self._log(
                model,
                action="promote",
                alias=CHAMPION,
                metric=metric,
                holdout=holdout,
                holdout_fingerprint=self.backend.fingerprint(
                    f"SELECT * FROM {self.backend.relation_sql(holdout_name)}"
                ),
                min_gain=float(min_gain),
                champion_version=champion,
                challenger_version=challenger,
                champion_score=decision.champion_score,
                challenger_score=decision.challenger_score,
                decision=decision.label,
            )
            crash_point("promote:before-commit")
        crash_point("promote:committed")
        return Promotion(model, champion, challenger, metric, decision)

    def _check_promotion(
        self, model: ModelName, versions: list[int], holdout: ModelName, metric: str
    ) -> None:
        """Refuse before scoring: a holdout without a label column, a metric a version lacks."""
        by_version = {row["version"]: row for row in self._versions(model)}
        for version in versions:
            _refuse_external(model, by_version[version], "be promoted")
        columns = {c.lower() for c in self.backend.columns(holdout)}
        for version in versions:
            info = self.backend.model_info(version_name(model, version))
            label = info.get("label_column")
            if label and label.lower() not in columns:
                raise MLError(
                    f"Holdout {holdout} has no column {label}, the label of version {version} of {model}: "
                    f"it cannot be scored on it"
                )
            available = sorted(json.loads(by_version[version]["eval_metrics"] or "{}"))
            if metric not in available:
                raise MLError(
                    f"Metric {metric} is not one of ML.EVALUATE's for version {version} of {model} "
                    f"(model_type {info['model_type']}): choose one of {_list(available)}"
                )

    def _scores(
        self, model: ModelName, holdout: ModelName, metric: str, champion: int | None, challenger: int
    ) -> dict[str, float]:
        """Both versions' `metric` on the same holdout rows, from one query (UNION ALL)."""
        versions = {CHALLENGER: challenger} | ({CHAMPION: champion} if champion is not None else {})
        query = scoring_query(
            {role: self.backend.model_sql(version_name(model, v)) for role, v in versions.items()},
            self.backend.relation_sql(holdout),
            metric,
        )
        return {row["role"]: row["score"] for row in self.backend.ml_rows(query)}

    def rollback(self, model: ModelName) -> tuple[int, int]:
        """Make the champion before the current one champion again; returns (from, to)."""
        with self.backend.transaction():
            self._repair_serving(model)
            champion = self.aliases(model).get(CHAMPION)
            if champion is None:
                self.versions(model)  # an unknown model says so first
                raise MLError(f"Model {model} has no champion: nothing to roll back")
            previous = self.resolve(model, version=self._previous_champion(model, champion))
            self._move_champion(model, champion, previous)
            self.backend.execute(
                f"UPDATE {self.table('model_versions')} SET status = 'rolled_back' "
                "WHERE model = @model AND version = @version",
                {"model": str(model), "version": champion},
            )
            crash_point("rollback:aliased")
            self._log(
                model,
                action="rollback",
                alias=CHAMPION,
                champion_version=champion,
                challenger_version=previous,
                decision="rolled_back",
            )
        return champion, previous

    def _previous_champion(self, model: ModelName, champion: int) -> int:
        """The champion that the promotion of `champion` replaced (rollbacks do not count, so two
        rollbacks step back twice rather than undo each other)."""
        for row in reversed(self.decisions(model)):
            made_champion = row["decision"] == "promoted" or (
                row["decision"] == "aliased" and row["alias"] == CHAMPION
            )
            if made_champion and row["challenger_version"] == champion:
                if row["champion_version"] is None:
                    break
                return row["champion_version"]
        raise MLError(f"Version {champion} of {model} was the first champion: there is none to roll back to")

    def set_alias(self, model: ModelName, alias: str, version: int) -> int | None:
        """Point `alias` at `version`; returns the version it named before (None: new alias)."""
        if not ALIAS.match(alias):
            raise MLError(
                f"Invalid alias {alias!r}: lowercase letters, digits, '_' or '-', starting with a letter"
            )
        with self.backend.transaction():
            self.resolve(model, version=version)
            before = self.aliases(model).get(alias)
            if alias == CHAMPION:
                row = next(r for r in self._versions(model) if r["version"] == version)
                _refuse_external(model, row, "be champion")
                self._move_champion(model, before, version)
            else:
                self._set_alias(model, alias, version)
            self._log(
                model,
                action="alias",
                alias=alias,
                champion_version=before,
                challenger_version=version,
                decision="aliased",
            )
        return before

    def _repair_serving(self, model: ModelName) -> None:
        """Serve the registry's version at the unversioned name again if it serves another: on
        BigQuery a crash between the registry's commit and the copy that follows it leaves them
        apart (`problems` reports it); the change about to be made serves its own version after."""
        if not self.backend.serves_by_name:
            return
        expected = self.default_version(model)
        if expected is not None and self.backend.serving(model) != expected:
            self.backend.serve(model, expected)

    def problems(self, model: ModelName) -> list[str]:
        """What is inconsistent between the registry and the warehouse (empty when all is well)."""
        rows = self._versions(model)
        registered = [row["version"] for row in rows]
        external = {row["version"] for row in rows if row["status"] == EXTERNAL}
        retired = {row["version"] for row in rows if row["status"] == RETIRED}
        found = []
        for version in sorted(set(self.backend.version_models(model)) - set(registered)):
            found.append(
                f"model {version_name(model, version)} exists but is not a registered version: a training "
                "stopped before registering it. Nothing serves it; drop it once you have looked at it, "
                f"because a dbt build on BigQuery that reaches version {version} fails to create it"
            )
        for version in registered:
            exists = version not in external and self.backend.model_exists(version_name(model, version))
            if version in retired and exists:
                found.append(
                    f"version {version} was retired but its model {version_name(model, version)} "
                    "still exists: drop it"
                )
            elif version not in external | retired and not exists:
                found.append(f"registered version {version} has no model {version_name(model, version)}")
        for alias, version in self.aliases(model).items():
            if version not in registered:
                found.append(f"alias {alias} names version {version}, which is not registered")
        if set(registered) - external and self.backend.serves_by_name:
            expected = self.resolve(model)
            serving = self.backend.serving(model)
            if serving != expected:
                found.append(f"{model} serves version {serving}, expected {expected}")
        return found


def check_keep_versions(keep_versions: int) -> None:
    if isinstance(keep_versions, bool) or not isinstance(keep_versions, int) or keep_versions < 1:
        raise MLError(
            f"keep_versions must be a positive integer (the newest versions kept), got {keep_versions!r}"
        )


def versions_to_retire(rows: list[dict[str, Any]], aliases: dict[str, int], keep_versions: int) -> list[int]:
    """The versions retention drops: those trained in the warehouse and not yet retired, older than
    the newest `keep_versions` of them, that no alias (champion, challenger, custom) names. The
    version the unversioned name serves is the champion or the newest, so it is always kept."""
    live = sorted(row["version"] for row in rows if row["status"] not in (EXTERNAL, RETIRED))
    named = set(aliases.values())
    return [version for version in live[:-keep_versions] if version not in named]


def _serving_version(rows: list[dict[str, Any]], aliases: dict[str, int]) -> int | None:
    """The version the unversioned name serves: the champion, or the newest version trained in the
    warehouse while there is none; None when every version was trained outside it."""
    if CHAMPION in aliases:
        return aliases[CHAMPION]
    in_warehouse = [row["version"] for row in rows if row["status"] != EXTERNAL]
    return in_warehouse[-1] if in_warehouse else None


def _refuse_external(model: ModelName, row: dict[str, Any], action: str) -> None:
    """Refuse to score or serve a version that has no warehouse model (status external)."""
    if row["status"] == EXTERNAL:
        options = json.loads(row["options"] or "{}")
        raise MLError(
            f"Version {row['version']} of {model} was trained outside the warehouse (artifact "
            f"{options.get('artifact_uri')}): it has no model to ML.EVALUATE or ML.PREDICT, "
            f"so it cannot {action}"
        )


def scoring_query(models: dict[str, str], holdout: str, metric: str) -> str:
    """One query scoring each model (role -> quoted model name) on the same holdout: the rows are
    read by one statement, so no version sees different data. `metric` is a validated column name."""
    return " UNION ALL ".join(
        f"SELECT '{role}' AS role, CAST(`{metric}` AS FLOAT64) AS score "
        f"FROM ML.EVALUATE(MODEL {model}, TABLE {holdout})"
        for role, model in models.items()
    )


def aliases_of(aliases: dict[str, int], version: int) -> str:
    """The aliases naming `version`, comma-separated, as listings show them."""
    return ",".join(alias for alias, v in aliases.items() if v == version)


def format_number(value: Any) -> str:
    """A metric or score as listings show it: six significant digits, blank for NULL."""
    return f"{value:.6g}" if isinstance(value, float) else "" if value is None else str(value)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _list(items: Any) -> str:
    return ", ".join(str(item) for item in items) or "none"
