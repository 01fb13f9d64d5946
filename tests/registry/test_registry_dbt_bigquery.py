"""What a dbt build on the `bigquery` target sends to the registry, rendered offline (no Google
credentials, nothing sent) and parsed with sqlglot's BigQuery dialect: the versioned CREATE MODEL
with its Vertex AI options, the transaction that registers the version, the registry tables, and
the query that finds the version the plain name serves, its label, and retention. The macros
mirror ml/registry (dbt cannot import it), so each is checked against the Python it mirrors."""

from __future__ import annotations

import json

import duckdb
import pytest
import sqlglot
from dbt_project_helpers import compile_offline_for_bigquery
from sqlglot import exp
from test_dbt_bigquery_rendering import PROJECT_ID, options_of

from ml.names import ModelName
from ml.registry.bigquery import BigQueryBackend, serving_label_sql, vertex_options
from ml.registry.ddl import version_name, versioned_ddl
from ml.registry.registry import versions_to_retire
from ml.registry.schema import TABLES

VERSION = 7
ML_DATASET = "analytics_ml_ml"

RENDER_MACRO = """
{% macro render_registry_for_tests(cases, version) %}
    {%- for case in cases -%}
        {%- set relation = api.Relation.create(database=case.relation.database, schema=case.relation.schema,
                                               identifier=case.relation.identifier, type='view') -%}
        {%- set plan = {
            'relation': relation,
            'ddl': analytics_ml.ml_create_model_ddl(relation, case.sql, case.ml_config, case.transform),
            'state': api.Relation.create(database=relation.database, schema='_ml',
                                         identifier='dbt_build_state', type='table'),
            'model_name': analytics_ml._ml_model_name(relation),
            'definition_hash': 'definition-hash',
            'data_fingerprint': 'data-fingerprint',
            'ml_config': case.ml_config,
            'transform': case.transform,
            'sql': case.sql,
        } -%}
        {%- set built = analytics_ml._ml_bigquery_version_statements(
            plan, version, 'dbt:test-invocation', 1.5) -%}
        {{ print(tojson({'name': case.name, 'plan_ddl': plan.ddl, 'create_model': built.create_model,
                         'register': built.register})) }}
    {%- endfor -%}
    {%- set tables = analytics_ml._ml_registry_table_statements('dummy-project') -%}
    {{ print(tojson({'name': '_tables', 'statements': tables})) }}
    {%- set model = api.Relation.create(database='dummy-project', schema='d', identifier='m') -%}
    {{ print(tojson({'name': '_serving', 'sql': analytics_ml._ml_serving_version_sql(model),
                     'version_name': analytics_ml._ml_version_relation(model, 3) | string,
                     'unpinned': analytics_ml.ml_predict(model, 'select 1'),
                     'pinned': analytics_ml.ml_predict(model, 'select 1', version=3),
                     'label': analytics_ml._ml_serving_label_sql(model, 3),
                     'retired_sql': analytics_ml._ml_retired_versions_sql(model, 2),
                     'retire': analytics_ml._ml_retire_statements(model, [1, 3]) })) }}
{% endmacro %}
"""

EXTRA_CASES = {
    "vertex_defaults": {"model_type": "linear_reg", "input_label_cols": ["y"], "model_registry": "vertex_ai"},
    "vertex_configured": {
        "model_type": "logistic_reg",
        "input_label_cols": ["y"],
        "model_registry": "VERTEX_AI",
        "vertex_ai_model_id": "my_model",
        "vertex_ai_model_version_aliases": ["champion", "v2"],
    },
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    offline = compile_offline_for_bigquery(
        tmp_path_factory.mktemp("registry_bigquery"), {"render_registry_for_tests.sql": RENDER_MACRO}
    )
    cases = offline.ml_model_cases() + [
        {
            "name": name,
            "relation": {"database": PROJECT_ID, "schema": "demo", "identifier": name},
            "sql": "select * from `dummy-project`.`demo`.`points`",
            "ml_config": config,
            "transform": None,
        }
        for name, config in EXTRA_CASES.items()
    ]
    items = offline.render("render_registry_for_tests", {"cases": cases, "version": VERSION})
    return {item["name"]: item for item in items}


def parse(sql: str) -> list[exp.Expression]:
    return sqlglot.parse(sql, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE)


def test_a_build_creates_the_next_version_as_the_registry_renders_it(rendered: dict[str, dict]) -> None:
    item = rendered["penguins_body_mass"]
    (create,) = parse(item["create_model"])
    assert isinstance(create, exp.Create) and create.kind == "MODEL"
    assert not create.args.get("replace") and not create.args.get("exists")  # never overwritten
    table = create.this
    name = f"penguins_body_mass__v{VERSION}"
    assert (table.catalog, table.db, table.name) == (PROJECT_ID, ML_DATASET, name)
    assert table.name == version_name(ModelName(ML_DATASET, "penguins_body_mass"), VERSION).model
    assert "model_registry" not in options_of(create)  # no Vertex AI without the config asking
    # Exactly what ml/registry/ddl.py's versioned_ddl makes of the same DDL.
    target = f"`{PROJECT_ID}`.`{ML_DATASET}`.`penguins_body_mass__v{VERSION}`"
    assert item["create_model"] == versioned_ddl(item["plan_ddl"], target)


def test_every_ml_model_gets_a_versioned_create_model(rendered: dict[str, dict]) -> None:
    models = [name for name, item in rendered.items() if "create_model" in item and name not in EXTRA_CASES]
    assert len(models) >= 7, models
    for name in models:
        (create,) = parse(rendered[name]["create_model"])
        assert create.this.name == f"{name}__v{VERSION}" and not create.args.get("replace")


def vertex(create: exp.Create) -> dict[str, object]:
    options = options_of(create)
    return {
        "model_registry": options["model_registry"].name.lower(),
        "vertex_ai_model_id": options["vertex_ai_model_id"].name,
        "vertex_ai_model_version_aliases": [
            e.name for e in options["vertex_ai_model_version_aliases"].expressions
        ],
    }


def test_vertex_ai_registration_defaults_match_the_registry(rendered: dict[str, dict]) -> None:
    (create,) = parse(rendered["vertex_defaults"]["create_model"])
    expected = vertex_options(ModelName("demo", "vertex_defaults"), VERSION)
    assert vertex(create) == {**expected, "model_registry": "vertex_ai"}
    assert options_of(create)["model_type"].name == "linear_reg"


def test_configured_vertex_ai_options_are_kept_with_the_version_alias(rendered: dict[str, dict]) -> None:
    (create,) = parse(rendered["vertex_configured"]["create_model"])
    assert vertex(create) == {
        "model_registry": "vertex_ai",
        "vertex_ai_model_id": "my_model",
        "vertex_ai_model_version_aliases": ["champion", "v2", f"v{VERSION}"],
    }


EVALUATE = f"ML.EVALUATE(MODEL `{PROJECT_ID}`.`demo`.`vertex_configured__v{VERSION}`)"


def test_the_version_registers_in_one_transaction(rendered: dict[str, dict]) -> None:
    item = rendered["vertex_configured"]
    # Training metrics first (Registry._training_metrics: ML.EVALUATE without input, '{}' when the
    # model type has none): sqlglot 30 parses neither ML.EVALUATE nor BEGIN ... EXCEPTION blocks,
    # so the block is pinned verbatim and its SET parsed with the call replaced.
    block = (
        f"BEGIN\n  SET version_metrics = COALESCE((SELECT TO_JSON_STRING(t) FROM {EVALUATE} AS t LIMIT 1), "
        "'{}');\nEXCEPTION WHEN ERROR THEN\n  SET version_metrics = '{}';\nEND;\n"
    )
    assert block in item["register"]
    (metrics,) = parse(block.split("\n")[1].replace(EVALUATE, "evaluated").rstrip(";"))
    assert isinstance(metrics, exp.Set) and metrics.find(exp.Subquery).find(exp.Table).name == "evaluated"
    (declare,) = parse(item["register"].split(";\n")[0])
    assert isinstance(declare, exp.Declare)
    transaction = item["register"][item["register"].index("BEGIN TRANSACTION;") :]
    statements = parse(transaction)
    kinds = [type(s).__name__ for s in statements]
    assert kinds == ["Transaction", "Insert", "Select", "Delete", "Insert", "Delete", "Insert", "Commit"]
    assert item["register"].startswith("DECLARE version_metrics STRING DEFAULT '{}';")
    assert item["register"].endswith("COMMIT TRANSACTION;")
    insert = statements[1]
    assert insert.this.this.sql("bigquery") == f"`{PROJECT_ID}`.`ml_registry`.`model_versions`"
    assert [c.name for c in insert.this.expressions] == [name for name, _ in TABLES["model_versions"]]
    values = [
        e.sql("bigquery") if not isinstance(e, exp.Literal) else e.this for e in insert.expression.selects
    ]
    row = dict(zip([name for name, _ in TABLES["model_versions"]], values, strict=True))
    assert row["model"] == "demo.vertex_configured" and row["version"] == str(VERSION)
    assert row["created_at"] == "CURRENT_TIMESTAMP()"
    assert row["triggered_by"] == "dbt:test-invocation" and row["status"] == "ready"
    assert row["data_fingerprint"] == "data-fingerprint" and row["eval_metrics"] == "version_metrics"
    # The stored DDL is the one as written (the version ran it renamed, without OR REPLACE).
    stored = insert.expression.selects[3]
    assert parse(stored.this) == parse(item["plan_ddl"])
    assert json.loads(insert.expression.selects[4].this)["vertex_ai_model_id"] == "my_model"
    assert "@@row_count = 1" in statements[2].sql("bigquery")  # a version registers once
    challenger = statements[4]
    assert challenger.this.this.sql("bigquery") == f"`{PROJECT_ID}`.`ml_registry`.`model_aliases`"
    assert "'challenger'" in challenger.sql("bigquery")
    state = statements[6]
    assert state.this.this.sql("bigquery") == f"`{PROJECT_ID}`.`_ml`.`dbt_build_state`"


def test_registry_tables_match_the_registry_schema(rendered: dict[str, dict]) -> None:
    types = {"string": "STRING", "int": "INT64", "float": "FLOAT64", "timestamp": "TIMESTAMP"}
    tables = {}
    for statement in rendered["_tables"]["statements"]:
        (create,) = parse(statement)
        assert create.kind == "TABLE" and create.args.get("exists")
        schema = create.this
        tables[schema.this.name] = [(c.name, c.args["kind"].sql("bigquery")) for c in schema.expressions]
        assert schema.this.db == "ml_registry"
    assert tables == {t: [(c, types[k]) for c, k in spec] for t, spec in TABLES.items()}


def test_the_served_version_is_the_champion_or_the_newest(rendered: dict[str, dict]) -> None:
    item = rendered["_serving"]
    (query,) = parse(item["sql"])
    (coalesce,) = query.selects
    champion, newest = coalesce.this, coalesce.expressions[0]
    assert champion.find(exp.Table).name == "model_aliases"
    assert "alias = 'champion'" in champion.sql("bigquery") and "model = 'd.m'" in champion.sql("bigquery")
    assert newest.find(exp.Table).name == "model_versions" and "MAX(version)" in newest.sql("bigquery")
    assert "status <> 'external'" in newest.sql("bigquery")  # as Registry.default_version
    assert item["version_name"] == f"`{PROJECT_ID}`.`d`.`m__v3`"


def test_ml_calls_compile_to_the_plain_name_or_the_pinned_version_without_a_query(
    rendered: dict[str, dict],
) -> None:
    # Rendered with execute true: a registry lookup would have failed (no Google credentials).
    item = rendered["_serving"]
    assert item["unpinned"].startswith(f"ML.PREDICT(MODEL `{PROJECT_ID}`.`d`.`m`,")
    assert item["pinned"].startswith(f"ML.PREDICT(MODEL `{PROJECT_ID}`.`d`.`m__v3`,")


def test_the_plain_name_is_labelled_with_the_version_it_copies(rendered: dict[str, dict]) -> None:
    backend = BigQueryBackend(client=None, project=PROJECT_ID)
    label = rendered["_serving"]["label"]
    # Python quotes the path as one identifier, dbt part by part: the same model.
    assert label.replace("`.`", ".") == serving_label_sql(backend.model_sql(ModelName("d", "m")), 3)


def test_retention_sql_drops_what_the_registry_would_and_nothing_aliased(
    rendered: dict[str, dict], tmp_path
) -> None:
    rows = [
        {"model": "d.m", "version": v, "status": status}
        for v, status in [
            (1, "ready"),
            (2, "external"),
            (3, "rolled_back"),
            (4, "ready"),
            (5, "retired"),
            (6, "ready"),
            (7, "ready"),
            (8, "ready"),
        ]
    ] + [{"model": "d.other", "version": 1, "status": "ready"}]
    aliases = {"champion": 4, "staging": 1}
    # Run the rendered query for real, on DuckDB, over registry tables holding these rows.
    con = duckdb.connect()
    con.execute("CREATE SCHEMA ml_registry")
    con.execute("CREATE TABLE ml_registry.model_versions (model VARCHAR, version BIGINT, status VARCHAR)")
    con.execute("CREATE TABLE ml_registry.model_aliases (model VARCHAR, alias VARCHAR, version BIGINT)")
    con.executemany(
        "INSERT INTO ml_registry.model_versions VALUES (?, ?, ?)", [list(r.values()) for r in rows]
    )
    con.executemany("INSERT INTO ml_registry.model_aliases VALUES ('d.m', ?, ?)", list(aliases.items()))
    query = sqlglot.transpile(rendered["_serving"]["retired_sql"], read="bigquery", write="duckdb")[0]
    query = query.replace(f'"{PROJECT_ID}".', "")
    found = [version for (version,) in con.execute(query).fetchall()]
    expected = versions_to_retire([r for r in rows if r["model"] == "d.m"], aliases, keep_versions=2)
    assert found == expected == [3, 6]

    update, *drops = (parse(s)[0] for s in rendered["_serving"]["retire"])
    assert isinstance(update, exp.Update) and "status = 'retired'" in update.sql("bigquery")
    assert "version IN (1, 3)" in update.sql("bigquery") and "model = 'd.m'" in update.sql("bigquery")
    assert [(d.args["kind"], d.args["exists"], d.args["tables"][0].name) for d in drops] == [
        ("MODEL", True, "m__v1"),
        ("MODEL", True, "m__v3"),
    ]
