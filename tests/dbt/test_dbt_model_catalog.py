"""dbt takes every option of every model type the engine trains, renders it in a form the engine
reads back to the same value, and refuses what the engine refuses with the engine's own words.
One `dbt run-operation` walks the whole model-type catalog."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dbt_project_helpers import copy_project, run_dbt

from ml.errors import MLError
from ml.model_types import catalog
from ml.model_types.option import Constraint
from ml.sql.options import parse_option_list

pytestmark = pytest.mark.slow

CHECK_MACRO = """
{% macro check_ml_configs_for_tests(cases) %}
    {%- for case in cases -%}
        {%- set options = analytics_ml._ml_lowercase_keys(case.ml_config) -%}
        {{ print(tojson({'name': case.name, 'problem': analytics_ml._ml_config_problem(case.ml_config),
                         'options': analytics_ml._ml_render_options(options)})) }}
    {%- endfor -%}
{% endmacro %}
"""
SAMPLES: dict[str, Any] = {
    "string": "x",
    "string_list": ["x"],
    "int_list": [8, 4],
    "column_list": "x",
    "order": [1, 0, 1],
    "class_weights": {"a": 0.5, "b": 2.0},
    "bool": True,
}


def sample(constraint: Constraint) -> Any:
    """A valid value of an option, as a dbt config writes it."""
    if constraint.default is not None:
        return constraint.default
    if constraint.kind == "enum":
        return constraint.choices[0].lower()
    if constraint.kind in ("int", "float"):
        low = constraint.low if constraint.low > float("-inf") else 0
        value = low + 1 if constraint.open_low or constraint.kind == "int" else low
        return int(value) if constraint.kind == "int" else min(float(value), constraint.high)
    return SAMPLES[constraint.kind]


def base_config(model_type: catalog.ModelType) -> dict[str, Any]:
    config: dict[str, Any] = {"model_type": model_type.name.lower()}
    if model_type.supervised:
        config["input_label_cols"] = ["y"]
    return config


def engine_refusal(config: dict[str, Any]) -> str:
    with pytest.raises(MLError) as refused:
        catalog.validate_options(config)
    return str(refused.value)


def option_cases() -> list[dict[str, Any]]:
    return [
        {"name": f"{kind.name}:{option}", "ml_config": {**base_config(kind), option: sample(constraint)}}
        for kind in catalog.MODEL_TYPES.values()
        for option, constraint in kind.options.items()
        if option != "model_type"
    ]


def refused_cases() -> dict[str, dict[str, Any]]:
    """Configs the engine refuses by name, each with the engine's message."""
    cases = {
        f"{kind.name}:unknown": {**base_config(kind), "no_such_option": 1}
        for kind in catalog.MODEL_TYPES.values()
    }
    cases["bad_model_type"] = {"model_type": "linear_regression", "input_label_cols": ["y"]}
    cases["no_model_type"] = {"input_label_cols": ["y"]}
    return cases


# What BigQuery ML takes and the engine does not: dbt lets it through for the bigquery target.
BIGQUERY_ONLY = {
    "bigquery_only_type": {"model_type": "matrix_factorization", "user_col": "u", "item_col": "i"},
    "bigquery_only_option": {
        "model_type": "linear_reg", "input_label_cols": ["y"], "instance_weight_col": "w",
    },
}


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    project = copy_project(tmp_path_factory.mktemp("catalog") / "analytics_ml")
    (project / "macros" / "check_ml_configs_for_tests.sql").write_text(CHECK_MACRO)
    named = {**refused_cases(), **BIGQUERY_ONLY}
    cases = option_cases() + [{"name": n, "ml_config": c} for n, c in named.items()]
    run = run_dbt(project, "--quiet", "run-operation", "check_ml_configs_for_tests",
                  "--args", json.dumps({"cases": cases}))
    assert run.returncode == 0, run.output
    printed = [json.loads(line) for line in run.output.splitlines() if line.startswith('{"name"')]
    return {item["name"]: item for item in printed}


def test_every_option_of_every_model_type_is_accepted_by_dbt(checked: dict[str, dict]) -> None:
    cases = option_cases()
    assert len(cases) > 250 and {c["name"] for c in cases} <= checked.keys()
    assert {c["name"]: checked[c["name"]]["problem"] for c in cases if checked[c["name"]]["problem"]} == {}
    assert "ARIMA_PLUS:seasonalities" in checked


def test_dbt_renders_each_option_as_the_engine_reads_it(checked: dict[str, dict]) -> None:
    for case in option_cases():
        kind_name, option = case["name"].split(":")
        constraint = catalog.MODEL_TYPES[kind_name].options[option]
        parsed = parse_option_list(checked[case["name"]]["options"])
        written = case["ml_config"][option]
        expected = constraint.check(option, list(written.items()) if isinstance(written, dict) else written)
        assert constraint.check(option, parsed[option]) == expected, case["name"]


def test_dbt_refuses_what_the_engine_refuses_in_the_engines_words(checked: dict[str, dict]) -> None:
    for name, config in refused_cases().items():
        assert checked[name]["problem"] == engine_refusal(config), name
    assert "no_such_option" in checked["LINEAR_REG:unknown"]["problem"]


def test_bigquery_only_types_and_options_pass_dbt_and_the_engine_names_them(
    checked: dict[str, dict],
) -> None:
    for name, config in BIGQUERY_ONLY.items():
        assert checked[name]["problem"] is None, name
        assert "BigQuery target only" in engine_refusal(config), name
