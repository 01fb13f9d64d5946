{#- ML.PREDICT: one row per input row, the input columns then predicted_<label> (and _probs).
    Usable in any FROM clause: select * from {{ ml_predict(ref('a_model'), ...) }} -#}
{% macro ml_predict(model, input, threshold=none, alias=none, version=none) %}
    {{ return(adapter.dispatch('ml_predict', 'analytics_ml')(analytics_ml._ml_pinned_model(model, alias, version), input, threshold)) }}
{% endmacro %}

{% macro default__ml_predict(model, input, threshold=none) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_predict') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_predict(model, input, threshold=none) %}
    {{ return(analytics_ml._ml_bigquery_call('predict', model, input, {'threshold': threshold})) }}
{% endmacro %}

{#- The local engine's compiled template for this model, run by DuckDB itself. -#}
{% macro duckdb__ml_predict(model, input, threshold=none) %}
    {{ return(analytics_ml._ml_duckdb_call('predict', model, input, threshold)) }}
{% endmacro %}
