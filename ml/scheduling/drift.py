"""The drift gate: recent data against the statistics the engine kept when the model was trained.

The reference is what CREATE MODEL stored in `_ml.models.state` (the numbers ML.FEATURE_INFO shows):
mean and standard deviation of each numeric feature, row counts of each category. Each feature of
the model that the recent relation also has gets a population stability index (PSI):

- categorical: PSI over category shares, sum((r - t) * ln(r / t)), shares floored at 1e-4 so a
  category that appears or vanishes counts heavily but finitely;
- numeric: the PSI of two normal distributions with the training and recent mean and standard
  deviation, i.e. their symmetric Kullback-Leibler divergence, which is what binned PSI tends to as
  the bins get finer. The engine keeps moments, not quantiles, so this is the PSI those moments give.

The job's score is the largest feature score; below the threshold the run is skipped, and every
feature's score is recorded with it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import duckdb

from ml.engine.store import SCHEMA as ENGINE_SCHEMA
from ml.errors import MLError
from ml.names import quote_ident
from ml.preprocessing.automatic import is_numeric_type

SHARE_FLOOR = 1e-4


@dataclass
class DriftReport:
    """Per-feature scores of one model; `score` is the largest. `metric` names the per-feature
    figure: `psi` here, `divergence` on BigQuery (drift_bigquery.py)."""

    model: str
    rows: int | None
    features: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_compared: list[str] = field(default_factory=list)
    metric: str = "psi"

    @property
    def score(self) -> float:
        return max((f[self.metric] for f in self.features.values()), default=0.0)

    def as_record(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "rows": self.rows,
            "metric": self.metric,
            "score": self.score,
            "features": self.features,
            "not_compared": self.not_compared,
        }


def quote_relation(relation: str) -> str:
    """`schema.table` with each part quoted (the declaration already refused anything but names)."""
    return ".".join(quote_ident(part) for part in relation.split("."))


def training_features(con: duckdb.DuckDBPyConnection, model: str) -> list[dict[str, Any]]:
    """The feature statistics the engine stored for `schema.model` at training."""
    dataset, _, name = model.rpartition(".")
    row = con.execute(
        f"SELECT state FROM {ENGINE_SCHEMA}.models WHERE dataset = ? AND model = ?", [dataset, name]
    ).fetchall()
    if not row:
        raise MLError(f"Not found: Model {model} (no training statistics to compare with)")
    return json.loads(row[0][0]).get("features", [])


def measure(con: duckdb.DuckDBPyConnection, model: str, relation: str) -> DriftReport:
    """Score every feature of `model` that `relation` has."""
    source = quote_relation(relation)
    columns = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    rows = con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]
    report = DriftReport(model, rows)
    for feature in training_features(con, model):
        name = feature["name"]
        trained_numeric = "mean" in feature
        if name not in columns or trained_numeric != is_numeric_type(columns[name]) or rows == 0:
            report.not_compared.append(name)
        elif trained_numeric:
            report.features[name] = _numeric(con, source, feature)
        else:
            report.features[name] = _categorical(con, source, feature, columns[name])
    return report


def _numeric(con: duckdb.DuckDBPyConnection, source: str, feature: dict[str, Any]) -> dict[str, Any]:
    column = quote_ident(feature["name"])
    mean, stddev = con.execute(f"SELECT avg({column}), stddev_samp({column}) FROM {source}").fetchall()[0]
    recent_mean = float(mean) if mean is not None else feature["mean"]
    recent_std = float(stddev) if stddev else feature["stddev"]
    return {
        "kind": "numeric",
        "psi": normal_psi(feature["mean"], feature["stddev"], recent_mean, recent_std),
        "training_mean": feature["mean"],
        "recent_mean": recent_mean,
        "mean_shift_in_stddevs": (recent_mean - feature["mean"]) / feature["stddev"],
    }


def _categorical(
    con: duckdb.DuckDBPyConnection, source: str, feature: dict[str, Any], duck_type: str
) -> dict[str, Any]:
    column = quote_ident(feature["name"])
    # The engine keys categories by their text (CAST AS VARCHAR), NULL included: count the same way.
    text = column if duck_type == "VARCHAR" else f"CAST({column} AS VARCHAR)"
    recent = dict(con.execute(f"SELECT {text}, count(*) FROM {source} GROUP BY 1").fetchall())
    trained = dict(zip(feature["categories"], feature["counts"], strict=True))
    return {
        "kind": "categorical",
        "psi": category_psi(trained, recent),
        "new_categories": sorted(str(c) for c in set(recent) - set(trained)),
    }


def normal_psi(mean_t: float, std_t: float, mean_r: float, std_r: float) -> float:
    """Symmetric KL divergence of N(mean_t, std_t²) and N(mean_r, std_r²)."""
    delta2 = (mean_r - mean_t) ** 2
    vt, vr = std_t**2, std_r**2
    return (vt + delta2) / (2 * vr) + (vr + delta2) / (2 * vt) - 1.0


def category_psi(trained: dict[Any, int], recent: dict[Any, int]) -> float:
    """PSI over category shares; categories missing on one side get the floor share."""
    total_t, total_r = sum(trained.values()) or 1, sum(recent.values()) or 1
    psi = 0.0
    for category in set(trained) | set(recent):
        t = max(trained.get(category, 0) / total_t, SHARE_FLOOR)
        r = max(recent.get(category, 0) / total_r, SHARE_FLOOR)
        psi += (r - t) * math.log(r / t)
    return psi
