"""The remote function's BigQuery DDL takes its endpoint, connection and context from vars and
environment variables: rendered offline with hostile values, every string stays one literal with
exactly the value given (parsed back with sqlglot's BigQuery dialect), and a connection that is
not a connection path is refused."""

from __future__ import annotations

import json

import pytest
import sqlglot
from dbt_project_helpers import compile_offline_for_bigquery, run_dbt
from sqlglot import exp

pytestmark = pytest.mark.slow

RENDER_MACRO = """
{% macro render_remote_function_for_tests(context) %}
    {{ print(tojson({'name': 'classify_image', 'ddl': analytics_ml.classify_image_ddl()})) }}
    {%- set ddl = analytics_ml.create_remote_function(
        'echo', [['x', 'STRING']], 'STRING', var('classify_image_endpoint'), var('bigquery_connection'),
        user_defined_context=context) -%}
    {{ print(tojson({'name': 'echo', 'ddl': ddl})) }}
{% endmacro %}
"""
ENDPOINT = "https://fn.example/it's\\'); DROP TABLE t; --\nnext line"
CONTEXT = {"output": "json", "quote's": 'a "b" \\ c'}


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory):
    return compile_offline_for_bigquery(
        tmp_path_factory.mktemp("remote_ddl"), {"render_remote_function_for_tests.sql": RENDER_MACRO}
    )


def render(offline, connection: str):
    variables = {"classify_image_endpoint": ENDPOINT, "bigquery_connection": connection}
    return run_dbt(
        offline.project, "--quiet", "run-operation", "render_remote_function_for_tests",
        "--vars", json.dumps(variables), "--args", json.dumps({"context": CONTEXT}), env=offline.env,
    )


def options(ddl: str) -> dict[str, exp.Expression]:
    (statement,) = sqlglot.parse(ddl, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE)
    assert isinstance(statement, exp.Create) and statement.kind == "FUNCTION"
    found = statement.find(exp.Properties)
    return {p.name.lower(): p.args["value"] for p in found.expressions if type(p) is exp.Property}


def test_hostile_vars_stay_string_literals_with_their_exact_value(offline) -> None:
    run = render(offline, "dummy-project.us.remote-functions")
    assert run.returncode == 0, run.output
    rendered = {item["name"]: item["ddl"] for item in map(json.loads, filter(None, run.output.splitlines()))
                if item.get("name")}
    for name, ddl in rendered.items():
        found = options(ddl)
        assert found["endpoint"].this == ENDPOINT, name  # one statement, the value exactly as given
    context = options(rendered["echo"])["user_defined_context"]
    assert {pair.expressions[0].this: pair.expressions[1].this for pair in context.expressions} == CONTEXT


def test_a_connection_that_is_not_a_path_is_refused(offline) -> None:
    run = render(offline, "p.us.conn` OPTIONS (endpoint = 'https://evil')")
    assert run.returncode != 0
    assert "is not a project.location.connection_id path" in run.output
