{#- ML.WEIGHTS: one row per processed input, plus __INTERCEPT__.
    Usable in any FROM clause: select * from {{ ml_weights(ref('a_model')) }} -#}
{% macro ml_weights(model) %}
    {{ return(adapter.dispatch('ml_weights', 'analytics_ml')(model)) }}
{% endmacro %}

{% macro default__ml_weights(model) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_weights') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_weights(model) %}
    {{ return(analytics_ml._ml_bigquery_call('weights', model)) }}
{% endmacro %}

{#- The local engine's compiled template for this model, run by DuckDB itself. -#}
{% macro duckdb__ml_weights(model) %}
    {{ return(analytics_ml._ml_duckdb_call('weights', model)) }}
{% endmacro %}
