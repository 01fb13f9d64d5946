"""Bytes a no-change rebuild of the demo would make BigQuery scan to decide what to retrain:
the retrain check that fingerprinted each model's training data by reading it (the baseline,
`ml_relation_fingerprint_sql` of every parent relation, as it ran until the metadata checks)
against the metadata-only check (`_ml_training_data_fingerprint` on the bigquery target).

    .venv/bin/python benchmarks/bench_bigquery_rebuild_bytes.py

Both are rendered from the project compiled for BigQuery offline (a throwaway key: nothing can
reach Google, so the metadata check running to its end proves it sent no query). Each query's
tables are read with sqlglot and priced by their size in the local twin (a dbt build into a
temporary DuckDB file), in BigQuery's logical bytes: 8 per INT64 / FLOAT64 / DATE / TIMESTAMP
value, 1 per BOOL, 2 + UTF-8 length per STRING, 0 per NULL. Bytes billed apply BigQuery's on-demand
minimum of 10 MB per table a query reads. The build-state lookup each model's check also makes
(one row of `_ml.dbt_build_state`) is the same on both sides and shown apart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from ml.offline_key import OFFLINE_PROJECT, write_offline_key

ROOT = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).with_name("dbt")
PROJECT_ITEMS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds")
MIN_BILLED = 10 * 1024 * 1024
TARGET_DATASET = "analytics_ml"  # profiles.yml's BIGQUERY_DATASET default: datasets are analytics_ml_<schema>
RENDER = """
{% macro bench_retrain_checks() %}
    {%- for node in graph.nodes.values() if node.config.materialized in ['bqml_model', 'model'] -%}
        {%- for parent_id in node.depends_on.nodes | sort -%}
            {%- set parent = graph.nodes.get(parent_id) or graph.sources.get(parent_id) -%}
            {{ print(tojson({'model': node.name, 'baseline':
                analytics_ml.bigquery__ml_relation_fingerprint_sql(parent.relation_name)})) }}
        {%- endfor -%}
        {{ print(tojson({'model': node.name,
                         'metadata_check': analytics_ml._ml_training_data_fingerprint(node)})) }}
    {%- endfor -%}
{% endmacro %}
"""
BYTES = {
    "BOOLEAN": "1",
    "VARCHAR": "2 + strlen({c})",  # strlen: bytes of the UTF-8 text
}


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return done.stdout


def project_copy(base: Path) -> Path:
    project = base / "analytics_ml"
    project.mkdir()
    for item in PROJECT_ITEMS:
        source = ROOT / item
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, project / item)
    (project / "macros" / "bench_retrain_checks.sql").write_text(RENDER)
    return project


def rendered_checks(project: Path, base: Path) -> list[dict]:
    env = {
        "DBT_TARGET": "bigquery",
        "BIGQUERY_PROJECT": OFFLINE_PROJECT,
        "BIGQUERY_METHOD": "service-account",
        "BIGQUERY_KEYFILE": str(write_offline_key(base / "key.json")),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dirs = ["--project-dir", str(project), "--profiles-dir", str(project)]
    run([str(DBT), "compile", "--no-populate-cache", *dirs], project, env)
    out = run([str(DBT), "--quiet", "run-operation", "bench_retrain_checks", *dirs], project, env)
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"model"')]


def local_twin(project: Path, base: Path) -> duckdb.DuckDBPyConnection:
    database = base / "twin.duckdb"
    env = {"ANALYTICS_ML_DUCKDB": str(database), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dirs = ["--project-dir", str(project), "--profiles-dir", str(project), "--target", "local"]
    run([str(DBT), "seed", *dirs], project, env)
    run([str(DBT), "run", "--select", "staging", "ml", *dirs], project, env)  # ml: the build state
    return duckdb.connect(str(database), read_only=True)


def logical_bytes(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    """BigQuery's logical size of a relation's rows, as the local twin holds them."""
    terms = []
    for name, kind, *_ in con.execute(f"DESCRIBE {relation}").fetchall():
        column = '"' + name.replace('"', '""') + '"'
        size = BYTES.get(kind, "8").format(c=column)
        terms.append(f"coalesce(sum(CASE WHEN {column} IS NULL THEN 0 ELSE {size} END), 0)")
    return int(con.execute(f"SELECT {' + '.join(terms)} FROM {relation}").fetchone()[0])


def local_name(table: exp.Table) -> str:
    """`project`.`analytics_ml_<schema>`.`t` on BigQuery is main_<schema>.t in the local twin."""
    return f"main_{table.db.removeprefix(TARGET_DATASET + '_')}.{table.name}"


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        project = project_copy(base)
        checks = rendered_checks(project, base)
        con = local_twin(project, base)
        models = sorted({c["model"] for c in checks})
        baseline_processed = baseline_billed = baseline_queries = 0
        print("| model | baseline: tables scanned (bytes) | metadata check: queries |")
        print("|---|---|---|")
        for model in models:
            scanned = []
            for check in (c for c in checks if c["model"] == model and "baseline" in c):
                tables = list(sqlglot.parse_one(check["baseline"], read="bigquery").find_all(exp.Table))
                sizes = [logical_bytes(con, local_name(t)) for t in tables]
                baseline_queries += 1
                baseline_processed += sum(sizes)
                baseline_billed += sum(max(size, MIN_BILLED) for size in sizes)
                scanned += [f"{t.name} ({size:,})" for t, size in zip(tables, sizes, strict=True)]
            print(f"| {model} | {', '.join(scanned)} | 0 |")
        state_bytes = logical_bytes(con, "_ml.dbt_build_state")
        print()
        print(f"models: {len(models)}; baseline: {baseline_queries} scans of training data")
        billed = f"{baseline_billed:,} ({baseline_billed / 2**20:.0f} MiB)"
        print(f"baseline bytes processed: {baseline_processed:,}; billed: {billed}")
        print("metadata check bytes processed: 0; billed: 0 (the checks ran offline: no query was sent)")
        print(
            f"both sides, per model: the build-state lookup, {state_bytes:,} bytes processed "
            f"(one {MIN_BILLED // 2**20} MB minimum billed per model and build)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
