{#- The Python module dbt-duckdb runs to train one model through the registry. An engine error
    (bad option, bad column, bad data) is not raised from it, which dbt-duckdb would print as
    "Python model failed" and a traceback: it is written, one line, to the build-errors table,
    and _ml_raise_training_error fails the model with it; the traceback goes to dbt's debug log. -#}
{% macro _ml_local_training_code(plan) %}
DDL = {{ tojson(plan.ddl) }}
TRIGGERED_BY = {{ tojson('dbt:' ~ invocation_id) }}
MODEL_NAME = {{ tojson(plan.model_name) }}
KEEP_VERSIONS = {{ plan.keep_versions | int }}
ERRORS = {{ tojson(analytics_ml._ml_build_errors_relation() | string) }}


def model(dbt, con):
    import traceback

    from dbt.adapters.events.logging import AdapterLogger

    from ml.errors import MLError
    from ml.registry import Registry
    from ml.registry.local import LocalBackend

    try:
        return Registry(LocalBackend(con), TRIGGERED_BY).train(DDL, KEEP_VERSIONS)
    except MLError as exc:
        AdapterLogger("analytics_ml").debug(traceback.format_exc())
        con.execute(f"CREATE TABLE IF NOT EXISTS {ERRORS} (model_name VARCHAR, message VARCHAR)")
        con.execute(f"INSERT INTO {ERRORS} VALUES (?, ?)", [MODEL_NAME, str(exc)])
        return None


def materialize(status, con):
    pass
{% endmacro %}
