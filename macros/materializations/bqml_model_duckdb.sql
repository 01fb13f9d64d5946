{#- DuckDB hands the same DDL to the local engine, in-process, on dbt's own connection (dbt-duckdb
    runs a "python" statement as a module: model() then materialize()). The engine writes the model
    and a view at its name itself, hence the no-op materialize(). submit_python_job only accepts a
    statement called straight from a materialization, so this cannot move into a macro.
    Training goes through the model registry (ml/registry): each build that trains makes a new
    version `name__v<N>`, and the unversioned name keeps serving the champion (or the newest). -#}
{% materialization bqml_model, adapter='duckdb' %}
    {%- set plan = analytics_ml._ml_plan_build() -%}
    {{ run_hooks(pre_hooks) }}
    {%- set started = modules.datetime.datetime.now() -%}
    {%- if plan.reason -%}
        {% call statement('main', language='python') -%}
DDL = {{ tojson(plan.ddl) }}
TRIGGERED_BY = {{ tojson('dbt:' ~ invocation_id) }}


def model(dbt, con):
    from ml.registry import Registry
    from ml.registry.local import LocalBackend

    return Registry(LocalBackend(con), TRIGGERED_BY).train(DDL)


def materialize(status, con):
    pass

{{ py_script_postfix(model) }}
        {%- endcall %}
    {%- endif -%}
    {{ return(analytics_ml._ml_finish_build(plan, started)) }}
{% endmaterialization %}
