"""The dbt macros' contract with the engine is generated from the engine, and a stale copy fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from ml import dbt_contract
from ml.compile import placeholders
from ml.engine import udfs
from ml.registry import schema

ROOT = Path(__file__).resolve().parents[2]


def contract_check(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ml", "dbt-contract", "--check", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_the_committed_contract_is_what_the_engine_generates() -> None:
    checked = contract_check(ROOT / dbt_contract.CONTRACT_FILE)
    assert checked.returncode == 0, checked.stdout + checked.stderr + " (run: python -m ml dbt-contract)"


def test_a_stale_contract_fails_the_check(tmp_path: Path) -> None:
    stale = tmp_path / "_ml_contract.sql"
    stale.write_text(dbt_contract.render().replace('"__ML_INPUT__"', '"__ML_OLD_INPUT__"'))
    checked = contract_check(stale)
    assert checked.returncode == 1 and "stale" in checked.stdout
    assert contract_check(tmp_path / "missing.sql").returncode == 1


def committed_contract() -> dict:
    """The literal `_ml_contract()` returns, read back from the macros file (JSON is its syntax)."""
    text = (ROOT / dbt_contract.CONTRACT_FILE).read_text()
    return json.loads(text[text.index("return(") + len("return(") : text.rindex(") }}")])


def test_the_contract_holds_the_engines_own_names() -> None:
    contract = committed_contract()
    assert contract["placeholders"]["input"] == placeholders.INPUT
    assert contract["placeholders"]["roc_thresholds"] == placeholders.ROC_THRESHOLDS
    for table, columns in contract["registry"]["tables"].items():
        assert [name for name, _ in columns] == schema.columns(table)
    con = duckdb.connect()
    udfs.register(con)
    registered = {row[0] for row in con.execute("SELECT function_name FROM duckdb_functions()").fetchall()}
    assert {*contract["udfs"]["scoring"], contract["udfs"]["load"]} <= registered
    assert {"__ml_tree_margin", "__ml_tree_shap", "__ml_dnn_forward"} <= set(contract["udfs"]["scoring"])
    linear = contract["model_types"]["linear_reg"]
    assert linear["supervised"] and linear["local"] and "l2_reg" in linear["options"]
    assert "seasonalities" in contract["model_types"]["arima_plus"]["options"]
    assert not contract["model_types"]["matrix_factorization"]["local"]
