"""What the registry sends to BigQuery and Vertex AI, checked without sending it: every statement
parses in sqlglot's BigQuery dialect and carries the names, options and parameters it should."""

from __future__ import annotations

import os
import re

import pytest
import sqlglot
from recording_client import RecordingClient
from sqlglot import exp

from ml.errors import MLError
from ml.names import ModelName
from ml.registry import CHALLENGER, CHAMPION, Registry
from ml.registry.bigquery import BigQueryBackend, default_version_request, query_parameter
from ml.registry.ddl import parse_create, versioned_ddl
from ml.registry.registry import scoring_query
from ml.registry.schema import create_statements

PROJECT = "analytics-prod"
MODEL = ModelName("ml", "penguin_mass")
DDL = (
    "CREATE OR REPLACE MODEL `analytics-prod.ml.penguin_mass` TRANSFORM (ML.STANDARD_SCALER(flipper) OVER () "
    "AS flipper, species) OPTIONS (model_type = 'linear_reg', input_label_cols = ['body_mass_g']) AS "
    "SELECT flipper_length_mm AS flipper, species, body_mass_g FROM `analytics-prod.staging.penguins`"
)


@pytest.fixture
def backend() -> BigQueryBackend:
    # No client: these tests look at what would be sent, and send nothing.
    return BigQueryBackend(client=None, project=PROJECT, vertex_region="us-central1")


def parse(sql: str) -> list[exp.Expression]:
    return sqlglot.parse(sql, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE)


def test_a_version_is_its_own_model_registered_in_vertex_ai(backend: BigQueryBackend) -> None:
    target = backend.model_sql(ModelName("ml", "penguin_mass__v7"))
    sql = versioned_ddl(DDL, target, backend.version_options(MODEL, 7))

    (create,) = parse(sql)
    assert isinstance(create, exp.Create) and create.kind == "MODEL"
    assert create.this.sql("bigquery") == "`analytics-prod.ml.penguin_mass__v7`"
    assert not create.args.get("replace")  # a version is never overwritten
    properties = create.args["properties"].expressions
    options = {p.name.lower(): p.args["value"] for p in properties if type(p) is exp.Property}
    assert any(isinstance(p, exp.TransformModelProperty) for p in properties)
    assert options["model_registry"].name == "VERTEX_AI"
    assert options["vertex_ai_model_id"].name == "ml_penguin_mass"
    assert [e.name for e in options["vertex_ai_model_version_aliases"].expressions] == ["v7"]
    assert options["model_type"].name == "linear_reg"
    # TRANSFORM and the training query are the user's text, unchanged.
    assert sql.endswith(
        DDL[DDL.index(" TRANSFORM") :].replace(
            "['body_mass_g'])",
            "['body_mass_g'], "
            "model_registry = 'VERTEX_AI', "
            "vertex_ai_model_id = 'ml_penguin_mass', "
            "vertex_ai_model_version_aliases = ['v7'])",
        )
    )
    assert parse_create(DDL, PROJECT).name == MODEL


def test_registry_tables_have_the_same_shape_on_bigquery(backend: BigQueryBackend) -> None:
    statements = create_statements(
        "bigquery", backend.schema_sql("ml_registry"), lambda t: backend.table_sql("ml_registry", t)
    )
    parsed = [parse(s)[0] for s in statements]
    assert parsed[0].kind == "SCHEMA" and parsed[0].this.sql("bigquery") == "`analytics-prod.ml_registry`"
    tables = {p.this.this.sql("bigquery"): [c.name for c in p.this.expressions] for p in parsed[1:]}
    assert tables["`analytics-prod.ml_registry.model_aliases`"] == ["model", "alias", "version", "updated_at"]
    assert "data_fingerprint" in tables["`analytics-prod.ml_registry.model_versions`"]


def test_a_promotion_commits_as_one_guarded_transaction(backend: BigQueryBackend) -> None:
    registry = Registry(backend, "scheduler:nightly")
    with backend.recording() as script:
        registry._record_version(MODEL, 7, parse_create(DDL, PROJECT), {"r2_score": 0.9}, "rows=3;hash=00")
        registry._set_alias(MODEL, CHALLENGER, 7)
        registry._move_champion(MODEL, 6, 7)
        registry._log(
            MODEL,
            action="promote",
            alias=CHAMPION,
            champion_version=6,
            challenger_version=7,
            champion_score=0.8,
            challenger_score=0.9,
            decision="promoted",
        )

    statements = parse(script.sql())
    kinds = [type(s).__name__ for s in statements]
    assert kinds == ["Transaction", "Insert", "Delete", "Insert", "Update", "Select", "Insert", "Commit"]
    update = statements[4]
    assert update.this.sql("bigquery") == "`analytics-prod.ml_registry.model_aliases`"
    assert "version = @s3_expected" in update.sql("bigquery")  # the compare-and-set
    assert "ERROR('The champion of ml.penguin_mass changed" in statements[5].sql("bigquery")
    assert script.parameters["s3_expected"] == 6 and script.parameters["s3_version"] == 7
    types = {name: query_parameter(name, value).type_ for name, value in script.parameters.items()}
    assert types["s0_version"] == "INT64" and types["s0_created_at"] == "TIMESTAMP"
    assert types["s5_holdout"] == "STRING" and types["s5_champion_score"] == "FLOAT64"
    assert types["s5_min_gain"] == "FLOAT64"  # a NULL, typed by its registry column


def test_champion_and_challenger_are_scored_by_one_query(backend: BigQueryBackend) -> None:
    sql = scoring_query(
        {
            CHALLENGER: backend.model_sql(ModelName("ml", "penguin_mass__v7")),
            CHAMPION: backend.model_sql(ModelName("ml", "penguin_mass__v6")),
        },
        backend.relation_sql(ModelName("marts", "holdout")),
        "mean_absolute_error",
    )
    # sqlglot 30 parses ML.PREDICT but not ML.EVALUATE: check the calls, then parse the rest.
    calls = re.findall(r"ML\.EVALUATE\(MODEL (`[^`]+`), TABLE (`[^`]+`)\)", sql)
    assert calls == [
        ("`analytics-prod.ml.penguin_mass__v7`", "`analytics-prod.marts.holdout`"),
        ("`analytics-prod.ml.penguin_mass__v6`", "`analytics-prod.marts.holdout`"),
    ]
    (query,) = parse(re.sub(r"ML\.EVALUATE\([^)]*\)", "evaluated", sql))
    assert isinstance(query, exp.Union) and not query.args.get("distinct")
    assert [s.selects[0].sql("bigquery") for s in (query.left, query.right)] == [
        "'challenger' AS role",
        "'champion' AS role",
    ]


def test_the_served_version_becomes_vertex_ai_default() -> None:
    request = default_version_request(PROJECT, "us-central1", MODEL, 7)
    assert request.name == "projects/analytics-prod/locations/us-central1/models/ml_penguin_mass@v7"
    assert list(request.version_aliases) == ["default"]


def test_the_training_data_fingerprint_reads_table_metadata_only() -> None:
    view_query = "SELECT * FROM `analytics-prod.raw.penguins` WHERE body_mass_g IS NOT NULL"
    tables = {
        f"{PROJECT}.staging.penguins": {"type": "VIEW", "view": {"query": view_query}},
        f"{PROJECT}.raw.penguins": {"type": "TABLE", "numRows": "344", "lastModifiedTime": "1764806400000"},
    }
    client = RecordingClient(PROJECT, tables=tables)
    backend = BigQueryBackend(client, PROJECT)
    statement = parse_create(DDL, PROJECT)

    fingerprint = backend.fingerprint(statement.query)
    assert client.calls == []  # no query: nothing scanned, nothing billed
    assert fingerprint.startswith("rows=344;tables=1;metadata=")
    assert backend.fingerprint(statement.query) == fingerprint
    tables[f"{PROJECT}.raw.penguins"]["lastModifiedTime"] = "1764892800000"  # new rows loaded
    assert backend.fingerprint(statement.query) != fingerprint
    with pytest.raises(MLError, match=re.escape("Not found: Table analytics-prod.raw.nope")):
        backend.fingerprint("SELECT * FROM raw.nope")


@pytest.mark.gcp
@pytest.mark.skipif(not os.environ.get("BIGQUERY_PROJECT"), reason="needs BIGQUERY_PROJECT and credentials")
def test_live_registry_lists_versions_on_bigquery() -> None:
    live = BigQueryBackend.connect(os.environ["BIGQUERY_PROJECT"], os.environ.get("BIGQUERY_LOCATION", "US"))
    assert isinstance(live.version_models(MODEL), list)
