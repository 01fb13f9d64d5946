{#- ML.TRAINING_INFO: one row per training iteration.
    Usable in any FROM clause: select * from {{ ml_training_info(ref('a_model')) }} -#}
{% macro ml_training_info(model, alias=none, version=none) %}
    {{ return(adapter.dispatch('ml_training_info', 'analytics_ml')(analytics_ml._ml_pinned_model(model, alias, version))) }}
{% endmacro %}

{% macro default__ml_training_info(model) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_training_info') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_training_info(model) %}
    {{ return(analytics_ml._ml_bigquery_call('training_info', model)) }}
{% endmacro %}

{#- The local engine's compiled template for this model, run by DuckDB itself. -#}
{% macro duckdb__ml_training_info(model) %}
    {{ return(analytics_ml._ml_duckdb_call('training_info', model)) }}
{% endmacro %}
