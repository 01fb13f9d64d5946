{#- DuckDB hands the same DDL to the local engine, in-process, on dbt's own connection (dbt-duckdb
    runs a "python" statement as a module: model() then materialize()). The engine writes the model
    and a view at its name itself, hence the no-op materialize(). dbt accepts a python statement
    only straight from a materialization, so `model` (dbt_ml's spelling) repeats these few lines
    instead of calling a macro; the code itself is _ml_local_training_code.
    Training goes through the model registry (ml/registry): each build that trains makes a new
    version `name__v<N>`, and the unversioned name keeps serving the champion (or the newest). -#}
{% materialization bqml_model, adapter='duckdb' %}
    {%- set plan = analytics_ml._ml_plan_build() -%}
    {{ run_hooks(pre_hooks) }}
    {%- set started = modules.datetime.datetime.now() -%}
    {%- if plan.reason -%}
        {% call statement('main', language='python') -%}
{{ analytics_ml._ml_local_training_code(plan) }}
{{ py_script_postfix(model) }}
        {%- endcall %}
        {%- do analytics_ml._ml_raise_training_error(plan) -%}
    {%- endif -%}
    {{ return(analytics_ml._ml_finish_build(plan, started)) }}
{% endmaterialization %}

{% materialization model, adapter='duckdb' %}
    {%- set plan = analytics_ml._ml_plan_build() -%}
    {{ run_hooks(pre_hooks) }}
    {%- set started = modules.datetime.datetime.now() -%}
    {%- if plan.reason -%}
        {% call statement('main', language='python') -%}
{{ analytics_ml._ml_local_training_code(plan) }}
{{ py_script_postfix(model) }}
        {%- endcall %}
        {%- do analytics_ml._ml_raise_training_error(plan) -%}
    {%- endif -%}
    {{ return(analytics_ml._ml_finish_build(plan, started)) }}
{% endmaterialization %}
