{% macro _ml_ensure_state_table() %}
    {%- set state = analytics_ml._ml_state_relation() -%}
    {%- do adapter.create_schema(state) -%}
    {% call statement('ml_state_table') -%}
        create table if not exists {{ state }} (
            model_name {{ dbt.type_string() }},
            definition_hash {{ dbt.type_string() }},
            data_fingerprint {{ dbt.type_string() }},
            trained_at {{ dbt.type_timestamp() }},
            train_seconds {{ dbt.type_float() }}
        )
    {%- endcall %}
    {{ return(state) }}
{% endmacro %}
