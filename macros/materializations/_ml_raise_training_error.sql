{#- Fail the model with the one-line engine error its training left (_ml_local_training_code). -#}
{% macro _ml_raise_training_error(plan) %}
    {%- set errors = analytics_ml._ml_build_errors_relation() -%}
    {#- Asked of the database: the training code created the table behind dbt's relation cache. -#}
    {%- set found = run_query("select count(*) from information_schema.tables where table_schema = '" ~ errors.schema ~ "' and table_name = '" ~ errors.identifier ~ "'") -%}
    {%- if not found.columns[0].values()[0] -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query("select message from " ~ errors ~ " where model_name = '" ~ plan.model_name | replace("'", "''") ~ "'").rows -%}
    {%- if rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {% call statement('ml_clear_error') -%}
        delete from {{ errors }} where model_name = '{{ plan.model_name | replace("'", "''") }}'
    {%- endcall %}
    {%- do adapter.commit() -%}
    {%- do exceptions.raise_compiler_error("bqml_model '" ~ model.name ~ "': " ~ rows[0][0]) -%}
{% endmacro %}

{#- Where a local training leaves its error for the materialization to raise. -#}
{% macro _ml_build_errors_relation() %}
    {{ return(analytics_ml._ml_state_relation().incorporate(path={'identifier': 'dbt_build_errors'})) }}
{% endmacro %}
