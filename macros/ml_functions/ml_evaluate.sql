{#- ML.EVALUATE: one row of metrics, of the eval split when input is none.
    Usable in any FROM clause: select * from {{ ml_evaluate(ref('a_model'), ...) }} -#}
{% macro ml_evaluate(model, input=none, threshold=none, alias=none, version=none) %}
    {{ return(adapter.dispatch('ml_evaluate', 'analytics_ml')(analytics_ml._ml_pinned_model(model, alias, version), input, threshold)) }}
{% endmacro %}

{% macro default__ml_evaluate(model, input=none, threshold=none) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_evaluate') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_evaluate(model, input=none, threshold=none) %}
    {{ return(analytics_ml._ml_bigquery_call('evaluate', model, input, {'threshold': threshold})) }}
{% endmacro %}

{#- The local engine's compiled template for this model, run by DuckDB itself. -#}
{% macro duckdb__ml_evaluate(model, input=none, threshold=none) %}
    {{ return(analytics_ml._ml_duckdb_call('evaluate', model, input, threshold)) }}
{% endmacro %}
