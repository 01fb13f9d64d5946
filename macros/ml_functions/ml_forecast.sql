{#- ML.FORECAST of an arima_plus model: horizon rows per time series (default 3), with prediction
    intervals at confidence_level (default 0.95).
    Usable in any FROM clause: select * from {{ ml_forecast(ref('a_model'), horizon=8) }} -#}
{% macro ml_forecast(model, horizon=none, confidence_level=none, alias=none, version=none) %}
    {%- if horizon is not none and (horizon is not number or horizon < 1 or horizon != horizon | int) -%}
        {%- do exceptions.raise_compiler_error("ml_forecast: horizon must be a positive integer, got " ~ horizon) -%}
    {%- endif -%}
    {%- if confidence_level is not none and (confidence_level is not number or confidence_level < 0 or confidence_level >= 1) -%}
        {%- do exceptions.raise_compiler_error("ml_forecast: confidence_level must be in [0, 1), got " ~ confidence_level) -%}
    {%- endif -%}
    {{ return(adapter.dispatch('ml_forecast', 'analytics_ml')(analytics_ml._ml_pinned_model(model, alias, version), horizon, confidence_level)) }}
{% endmacro %}

{% macro default__ml_forecast(model, horizon=none, confidence_level=none) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_forecast') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_forecast(model, horizon=none, confidence_level=none) %}
    {{ return(analytics_ml._ml_bigquery_call('forecast', model, none, {'horizon': horizon, 'confidence_level': confidence_level})) }}
{% endmacro %}

{#- The local engine stored each series' forecasts at training; its template computes the intervals
    for the requested level in SQL (placeholders: docs/engine-contract.md). -#}
{% macro duckdb__ml_forecast(model, horizon=none, confidence_level=none) %}
    {%- set call = analytics_ml._ml_duckdb_call('forecast', model) -%}
    {%- set placeholders = analytics_ml._ml_contract().placeholders -%}
    {%- set call = call | replace(placeholders.horizon, (3 if horizon is none else horizon | int) | string) -%}
    {{ return(call | replace(placeholders.confidence_level, (0.95 if confidence_level is none else confidence_level) | string)) }}
{% endmacro %}
