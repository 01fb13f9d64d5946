"""What the `bigquery` target would run, rendered without Google credentials and parsed with
sqlglot's BigQuery dialect: every bqml_model's CREATE MODEL, every ml_* macro call, and the
option value forms (structs, arrays, hyperparameter ranges and candidates)."""

from __future__ import annotations

import pytest
import sqlglot
from dbt_project_helpers import compile_offline_for_bigquery
from sqlglot import exp

from ml.offline_key import OFFLINE_PROJECT
from ml.sql.statements import parse_ml_statement

PROJECT_ID = OFFLINE_PROJECT
ML_DATASET = "analytics_ml_ml"
STAGING = f"`{PROJECT_ID}`.`analytics_ml_staging`"
ONNX_URI = "gs://analytics-ml-models/digits/model.onnx"
VERTEX_ENDPOINT = "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/endpoints/42"
CONNECTION = "p.us.vertex"
# Made from a file or an endpoint: no training query.
BUILT_MODELS = {"digits_cnn_onnx", "digits_cnn_remote"}

# Calls the project's own DDL macro for each case and prints it as one JSON line.
RENDER_MACRO = """
{% macro render_ddl_for_tests(cases) %}
    {%- for case in cases -%}
        {%- set ddl = analytics_ml.ml_create_model_ddl(
            case.relation, case.sql, case.ml_config, case.transform, case.remote) -%}
        {{ print(tojson({'name': case.name, 'ddl': ddl})) }}
    {%- endfor -%}
    {%- set fingerprint = analytics_ml.ml_relation_fingerprint_sql('`p`.`d`.`t`') -%}
    {{ print(tojson({'name': 'fingerprint', 'ddl': fingerprint})) }}
    {%- set model = api.Relation.create(database='p', schema='d', identifier='m') -%}
    {%- set roc = analytics_ml.ml_roc_curve(model, 'select 1', thresholds=[0.1, 0.5, 0.9]) -%}
    {{ print(tojson({'name': 'roc_thresholds', 'ddl': roc})) }}
    {%- set standardized = analytics_ml.ml_weights(model, standardize=true) -%}
    {{ print(tojson({'name': 'weights_standardized', 'ddl': standardized})) }}
    {{ print(tojson({'name': 'engine_version', 'ddl': analytics_ml.ml_engine_version() | string})) }}
    {#- The retrain check of every ML model, for real: a query sent here would fail (no Google). -#}
    {%- for node in graph.nodes.values() if node.config.materialized == 'bqml_model' -%}
        {{ print(tojson({'name': 'retrain_check:' ~ node.name,
                         'ddl': analytics_ml._ml_training_data_fingerprint(node)})) }}
    {%- endfor -%}
    {%- set source = {'resource_type': 'source', 'unique_id': 'source.x.raw.events', 'database': 'p',
                      'schema': 'raw', 'identifier': 'events', 'name': 'events'} -%}
    {{ print(tojson({'name': 'table_metadata', 'ddl': analytics_ml._ml_table_metadata_sql(source)})) }}
{% endmacro %}
"""

OPTION_CASES = {
    "structs_and_arrays": {
        "ml_config": {
            "MODEL_TYPE": "dnn_classifier",
            "input_label_cols": ["species"],
            "class_weights": {"Adelie": 1.0, "Chinstrap": 2.5, "Gentoo": 1.25},
            "hidden_units": [32, 16],
            "vertex_ai_model_version_aliases": ["champion", "v2"],
            "model_registry": "vertex_ai",
            "early_stop": False,
            "dropout": 0.25,
            "min_rel_progress": 1e-05,
            "kms_key_name": "it's \\ quoted",
        },
        "transform": "* EXCEPT (island), ML.STANDARD_SCALER(bill_length_mm) OVER () AS bill_length_mm",
    },
    "hyperparameter_tuning": {
        "ml_config": {
            "model_type": "dnn_regressor",
            "input_label_cols": ["body_mass_g"],
            "num_trials": 10,
            "learn_rate": {"hparam_range": [0.0001, 1.0]},
            "optimizer": {"hparam_candidates": ["ADAM", "SGD"]},
            "hidden_units": {"hparam_candidates": [[16], [32, 16]]},
            "data_split_eval_fraction": {"sql": "CAST(0.2 AS FLOAT64)"},
        },
        "transform": None,
    },
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Compiles the project for BigQuery, then renders each bqml_model's DDL from the compiled
    SQL and config, plus the option cases, in one run-operation."""
    offline = compile_offline_for_bigquery(
        tmp_path_factory.mktemp("bigquery"),
        {"render_ddl_for_tests.sql": RENDER_MACRO},
        {
            "DIGITS_ONNX_URI": ONNX_URI,
            "DIGITS_VERTEX_ENDPOINT": VERTEX_ENDPOINT,
            "BIGQUERY_CONNECTION": CONNECTION,
        },
    )
    nodes = offline.models()
    ml_cases = offline.ml_model_cases()
    cases = ml_cases + [
        {"name": name, "relation": {"database": PROJECT_ID, "schema": "demo", "identifier": name},
         "sql": "select * from `dummy-project`.`demo`.`penguins`", "remote": None, **case}
        for name, case in OPTION_CASES.items()
    ]
    ddl = {item["name"]: item["ddl"] for item in offline.render("render_ddl_for_tests", {"cases": cases})}
    return {
        "ddl": ddl,
        "ml_models": {case["name"] for case in ml_cases},
        "marts": {n["name"]: n["compiled_code"] for n in nodes if n["config"]["materialized"] == "table"},
    }


def parse_create_model(ddl: str) -> exp.Create:
    statement = sqlglot.parse_one(ddl, read="bigquery")
    assert isinstance(statement, exp.Create)
    assert statement.args["kind"] == "MODEL" and statement.args["replace"] is True
    return statement


def options_of(statement: exp.Create) -> dict[str, exp.Expression]:
    return {
        p.name.lower(): p.args["value"]
        for p in statement.args["properties"].expressions
        if type(p) is exp.Property
    }


def transform_of(statement: exp.Create) -> list[exp.Expression]:
    found = [p for p in statement.args["properties"].expressions if isinstance(p, exp.TransformModelProperty)]
    return found[0].expressions if found else []


def test_every_ml_model_renders_a_create_model_bigquery_parses(rendered: dict) -> None:
    assert rendered["ml_models"] == {
        "penguins_body_mass",
        "penguins_clusters",
        "titanic_survival",
        "penguins_species_trees",
        "penguins_species_dnn",
        "penguins_measurements_pca",
        "us_macro_arima",
        *BUILT_MODELS,
    }
    for name in rendered["ml_models"]:
        statement = parse_create_model(rendered["ddl"][name])
        table = statement.this
        assert (table.catalog, table.db, table.name) == (PROJECT_ID, ML_DATASET, name)
        assert all(t.args["this"].quoted for t in [table])
        assert (statement.expression is None) == (name in BUILT_MODELS)
        if name in BUILT_MODELS:
            continue
        sources = {t.sql(dialect="bigquery") for t in statement.expression.find_all(exp.Table)}
        assert any(s.startswith(STAGING) for s in sources), sources


def test_the_cnn_renders_as_an_imported_onnx_model_and_a_remote_model(rendered: dict) -> None:
    onnx = options_of(parse_create_model(rendered["ddl"]["digits_cnn_onnx"]))
    assert {name: v.name for name, v in onnx.items()} == {"model_type": "onnx", "model_path": ONNX_URI}
    remote = parse_create_model(rendered["ddl"]["digits_cnn_remote"])
    clauses = {type(p).__name__: p for p in remote.args["properties"].expressions}
    fields = {
        kind: [(c.name, c.args["kind"].sql("bigquery")) for c in clauses[kind].this.expressions]
        for kind in ("InputModelProperty", "OutputModelProperty")
    }
    assert fields == {
        "InputModelProperty": [("image", "STRING")],
        "OutputModelProperty": [("label", "STRING"), ("scores", "ARRAY<FLOAT64>")],
    }
    assert {name: value.name for name, value in options_of(remote).items()} == {"endpoint": VERTEX_ENDPOINT}
    # The engine's parser reads the connection back (and that there is no training query).
    parsed = parse_ml_statement(rendered["ddl"]["digits_cnn_remote"], PROJECT_ID)
    assert parsed.connection == CONNECTION and parsed.query is None


def test_the_three_ways_mart_calls_ml_predict_on_both_models(rendered: dict) -> None:
    mart = rendered["marts"]["digit_predictions_three_ways"]
    text = sqlglot.parse_one(mart, read="bigquery").sql("bigquery")
    for model in ("digits_cnn_remote", "digits_cnn_onnx"):
        assert f"ML.PREDICT(MODEL `{PROJECT_ID}`.`{ML_DATASET}`.`{model}`" in text, text
    assert "ML.DECODE_IMAGE(image_png) AS input" in text, text


def test_linear_and_kmeans_options(rendered: dict) -> None:
    linear = options_of(parse_create_model(rendered["ddl"]["penguins_body_mass"]))
    assert linear["model_type"].name == "linear_reg"
    assert [e.name for e in linear["input_label_cols"].expressions] == ["body_mass_g"]
    assert linear["optimize_strategy"].name == "normal_equation"
    kmeans = options_of(parse_create_model(rendered["ddl"]["penguins_clusters"]))
    assert kmeans["model_type"].name == "kmeans"
    assert kmeans["num_clusters"].sql() == "3"
    standardize = kmeans["standardize_features"]
    assert isinstance(standardize, exp.Boolean) and standardize.this is True
    assert "input_label_cols" not in kmeans


def test_titanic_transform_is_the_books_feature_engineering(rendered: dict) -> None:
    statement = parse_create_model(rendered["ddl"]["titanic_survival"])
    options = options_of(statement)
    assert options["model_type"].name == "logistic_reg"
    assert (options["data_split_method"].name, options["data_split_col"].name) == ("custom", "is_holdout")
    transform = {e.alias_or_name: e.sql(dialect="bigquery") for e in transform_of(statement)}
    assert transform["age"] == "ML.IMPUTER(age, 'median') OVER () AS age"
    assert transform["fare"] == "ML.IMPUTER(fare, 'median') OVER () AS fare"
    assert transform["family_size"] == "siblings_spouses + parents_children + 1 AS family_size"
    assert transform["is_alone"] == "siblings_spouses + parents_children = 0 AS is_alone"
    for column in ("passenger_class", "sex", "embarked_port"):
        assert transform[column].startswith("ML.ONE_HOT_ENCODER("), transform[column]
    assert {"survived", "is_holdout"} <= transform.keys()


def test_struct_array_and_string_options(rendered: dict) -> None:
    statement = parse_create_model(rendered["ddl"]["structs_and_arrays"])
    options = options_of(statement)
    assert options["model_type"].name == "dnn_classifier", "option names are lower-cased"
    weights = options["class_weights"]
    assert isinstance(weights, exp.Array)
    assert [[e.sql() for e in s.expressions] for s in weights.expressions] == [
        ["'Adelie'", "1.0"], ["'Chinstrap'", "2.5"], ["'Gentoo'", "1.25"]]
    assert [e.sql() for e in options["hidden_units"].expressions] == ["32", "16"]
    assert [e.name for e in options["vertex_ai_model_version_aliases"].expressions] == ["champion", "v2"]
    assert options["early_stop"].this is False
    assert float(options["min_rel_progress"].name) == 1e-05
    assert options["kms_key_name"].name == "it's \\ quoted"
    assert [e.alias_or_name for e in transform_of(statement)] == ["*", "bill_length_mm"]


def test_hyperparameter_ranges_and_candidates(rendered: dict) -> None:
    ddl = rendered["ddl"]["hyperparameter_tuning"]
    options = options_of(parse_create_model(ddl))
    assert options["learn_rate"].sql(dialect="bigquery") == "HPARAM_RANGE(0.0001, 1.0)"
    assert options["optimizer"].sql(dialect="bigquery") == "HPARAM_CANDIDATES(['ADAM', 'SGD'])"
    assert "hidden_units = HPARAM_CANDIDATES([STRUCT([16]), STRUCT([32, 16])])" in ddl
    assert options["data_split_eval_fraction"].sql(dialect="bigquery") == "CAST(0.2 AS FLOAT64)"
    assert "TRANSFORM" not in ddl


def test_training_data_fingerprint_query_is_bigquery(rendered: dict) -> None:
    query = sqlglot.parse_one(rendered["ddl"]["fingerprint"], read="bigquery")
    functions = {f.sql_name() for f in query.find_all(exp.Func)}
    # sqlglot names BigQuery's TO_JSON_STRING JSON_FORMAT.
    assert {"FARM_FINGERPRINT", "JSON_FORMAT", "FORMAT"} <= functions, functions
    assert query.find(exp.Table).sql(dialect="bigquery") == "`p`.`d`.`t` AS t"


def test_roc_thresholds_and_standardize_render_bigquery_arguments(rendered: dict) -> None:
    assert rendered["ddl"]["roc_thresholds"] == "ML.ROC_CURVE(MODEL `p`.`d`.`m`, (select 1), [0.1, 0.5, 0.9])"
    standardized = rendered["ddl"]["weights_standardized"]
    assert standardized == "ML.WEIGHTS(MODEL `p`.`d`.`m`, STRUCT(TRUE AS standardize))"
    # BigQuery trains its own models: no local engine version in the retrain fingerprint.
    assert rendered["ddl"]["engine_version"] == "None"


def test_ml_macros_render_bigquery_ml_table_functions(rendered: dict) -> None:
    model = f"`{PROJECT_ID}`.`{ML_DATASET}`"
    expected = {
        "penguins_body_mass_predictions":
            f"ML.PREDICT(MODEL {model}.`penguins_body_mass`, TABLE {STAGING}.`stg_penguins__penguins`)",
        "penguins_body_mass_evaluation": f"ML.EVALUATE(MODEL {model}.`penguins_body_mass`)",
        "penguins_body_mass_weights": f"ML.WEIGHTS(MODEL {model}.`penguins_body_mass`)",
        "penguins_cluster_assignments":
            f"ML.PREDICT(MODEL {model}.`penguins_clusters`, TABLE {STAGING}.`stg_penguins__penguins`)",
        "titanic_survival_predictions":
            f"ML.PREDICT(MODEL {model}.`titanic_survival`, TABLE {STAGING}.`stg_titanic__passengers`)",
        "titanic_survival_evaluation": f"ML.EVALUATE(MODEL {model}.`titanic_survival`)",
        "titanic_survival_roc_curve": f"ML.ROC_CURVE(MODEL {model}.`titanic_survival`)",
        "titanic_survival_confusion_matrix": f"ML.CONFUSION_MATRIX(MODEL {model}.`titanic_survival`)",
        "titanic_survival_feature_info": f"ML.FEATURE_INFO(MODEL {model}.`titanic_survival`)",
        "titanic_survival_training_info": f"ML.TRAINING_INFO(MODEL {model}.`titanic_survival`)",
    }
    assert expected.keys() <= rendered["marts"].keys()
    for name, call in expected.items():
        sql = rendered["marts"][name]
        assert call in sql, sql
        if call.startswith("ML.PREDICT("):
            predict = sqlglot.parse_one(sql, read="bigquery").find(exp.Predict)
            assert predict is not None and predict.this.name == call.split("`")[5]
        else:
            # sqlglot 30 knows ML.PREDICT only: the call is pinned verbatim above, the rest must parse.
            sqlglot.parse_one(sql.replace(call, "ml_function_result"), read="bigquery")


def test_the_whole_project_compiles_offline_including_the_remote_function_model(rendered: dict) -> None:
    # digit_predictions' endpoint and connection are unset: they are checked when it runs, so
    # neither its compile nor any other model's needs them.
    sql = rendered["marts"]["digit_predictions"]
    call = f"`{PROJECT_ID}`.`analytics_ml`.`classify_image`(image_png)"
    assert call in sql
    sqlglot.parse_one(sql.replace(call, "classified_image"), read="bigquery")


def test_retrain_checks_read_no_table_data_on_bigquery(rendered: dict) -> None:
    # Every demo model reads staging views over seeds: its check is the seeds' file checksums and
    # the views' SQL, computed while rendering, with no query at all.
    checks = {k.split(":", 1)[1]: v for k, v in rendered["ddl"].items() if k.startswith("retrain_check:")}
    assert checks.keys() == rendered["ml_models"]
    assert all(len(digest) == 32 for digest in checks.values())  # an md5, one per model
    # A source's rows only BigQuery knows: its metadata, from the dataset's __TABLES__ (free).
    query = sqlglot.parse_one(rendered["ddl"]["table_metadata"], read="bigquery")
    (table,) = query.find_all(exp.Table)
    assert (table.catalog, table.db, table.name) == ("p", "raw", "__TABLES__")
    columns = {column.name for column in query.find_all(exp.Column)}
    assert columns == {"row_count", "last_modified_time", "table_id"}
    assert query.args["where"].sql("bigquery") == "WHERE table_id = 'events'"
