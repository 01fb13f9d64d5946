{#- The bigquery target's build of one model (bqml_model and model materializations): the next
    registry version, created then registered with the build state in one transaction, copied to
    the unversioned name when it serves it, and versions past keep_versions retired. -#}
{% macro _ml_build_on_bigquery() %}
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
        {#- Registered: if the new version is what the unversioned name serves (no champion
            yet), copy it there; then retire what keep_versions no longer keeps. -#}
        {%- if run_query(analytics_ml._ml_serving_version_sql(plan.relation)).columns[0].values()[0] == version -%}
            {%- do analytics_ml._ml_bigquery_serve(plan.relation, version) -%}
        {%- endif -%}
        {%- set retired = run_query(analytics_ml._ml_retired_versions_sql(plan.relation, plan.keep_versions)).columns[0].values() -%}
        {%- for retire_sql in analytics_ml._ml_retire_statements(plan.relation, retired) -%}
            {% call statement('ml_retire_version') -%}
                {{ retire_sql }}
            {%- endcall %}
        {%- endfor -%}
    {%- endif -%}
    {{ return(analytics_ml._ml_finish_build(plan, started, state_recorded=true)) }}
{% endmacro %}
