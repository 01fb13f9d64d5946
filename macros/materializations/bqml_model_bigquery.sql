{#- BigQuery runs the DDL as a query job; BigQuery itself trains and stores the model. -#}
{% materialization bqml_model, adapter='bigquery' %}
    {%- set plan = analytics_ml._ml_plan_build() -%}
    {{ run_hooks(pre_hooks) }}
    {%- set started = modules.datetime.datetime.now() -%}
    {%- if plan.reason -%}
        {% call statement('main') -%}
            {{ plan.ddl }}
        {%- endcall %}
    {%- endif -%}
    {{ return(analytics_ml._ml_finish_build(plan, started)) }}
{% endmaterialization %}
