{#- ML.ARIMA_EVALUATE of an arima_plus model: one row per time series (order, drift, AIC, variance...).
    Usable in any FROM clause: select * from {{ ml_arima_evaluate(ref('a_model')) }} -#}
{% macro ml_arima_evaluate(model, alias=none, version=none) %}
    {{ return(adapter.dispatch('ml_arima_evaluate', 'analytics_ml')(analytics_ml._ml_pinned_model(model, alias, version))) }}
{% endmacro %}

{% macro default__ml_arima_evaluate(model) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_arima_evaluate') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_arima_evaluate(model) %}
    {{ return(analytics_ml._ml_bigquery_call('arima_evaluate', model)) }}
{% endmacro %}

{#- The local engine's compiled template for this model, run by DuckDB itself. -#}
{% macro duckdb__ml_arima_evaluate(model) %}
    {{ return(analytics_ml._ml_duckdb_call('arima_evaluate', model)) }}
{% endmacro %}
