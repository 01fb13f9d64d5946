{#- After training (or deciding not to): record the state (unless the materialization did, as
    the bigquery target does inside its registry transaction), say what happened, hand dbt the
    relation. -#}
{% macro _ml_finish_build(plan, started, state_recorded=false) %}
    {%- if plan.reason -%}
        {%- set seconds = (modules.datetime.datetime.now() - started).total_seconds() -%}
        {%- if not state_recorded -%}
            {%- do analytics_ml._ml_record_build_state(plan, seconds) -%}
        {%- endif -%}
        {%- set message = 'trained (' ~ plan.reason ~ ') in ' ~ '%.2f' | format(seconds) ~ 's' -%}
        {%- do store_raw_result('main', message=message, code='TRAINED', rows_affected=none) -%}
    {%- else -%}
        {%- set message = 'skipped (unchanged)' -%}
        {%- do store_raw_result('main', message=message, code='SKIPPED', rows_affected=none) -%}
    {%- endif -%}
    {%- do log(model.name ~ ': ' ~ message, info=true) -%}
    {{ run_hooks(post_hooks) }}
    {%- do adapter.commit() -%}
    {{ return({'relations': [plan.relation]}) }}
{% endmacro %}
