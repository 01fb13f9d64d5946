{#- BigQuery runs the DDL as a query job; BigQuery itself trains and stores the model.
    Training goes through the model registry as `python -m ml train --target bigquery` does
    (ml/registry, mirrored in macros/registry): each build that trains creates the next immutable
    version `name__v<N>` (N from ml_registry.model_versions), then registers it, sets it
    challenger and records the build state in one multi-statement transaction. ml_* calls without
    alias= / version= serve the champion (or the newest version), resolved when they compile. -#}
{% materialization bqml_model, adapter='bigquery' %}
    {%- set plan = analytics_ml._ml_plan_build() -%}
    {{ run_hooks(pre_hooks) }}
    {%- set started = modules.datetime.datetime.now() -%}
    {%- if plan.reason -%}
        {%- do adapter.create_schema(analytics_ml._ml_registry_relation(plan.relation.database, 'model_versions')) -%}
        {%- for table_sql in analytics_ml._ml_registry_table_statements(plan.relation.database) -%}
            {% call statement('ml_registry_table') -%}
                {{ table_sql }}
            {%- endcall %}
        {%- endfor -%}
        {%- set version = analytics_ml._ml_next_version(plan.relation) -%}
        {%- set triggered_by = 'dbt:' ~ invocation_id -%}
        {% call statement('main') -%}
            {{ analytics_ml._ml_bigquery_version_statements(plan, version, triggered_by, 0).create_model }}
        {%- endcall %}
        {%- set seconds = (modules.datetime.datetime.now() - started).total_seconds() -%}
        {% call statement('ml_register_version') -%}
            {{ analytics_ml._ml_bigquery_version_statements(plan, version, triggered_by, seconds).register }}
        {%- endcall %}
    {%- endif -%}
    {{ return(analytics_ml._ml_finish_build(plan, started, state_recorded=true)) }}
{% endmaterialization %}
