{#- ML.ROC_CURVE: one row per threshold (binary logistic models): BigQuery's percentiles of the
    predicted probability, or `thresholds`, a list of numbers (with an input relation or query).
    Usable in any FROM clause: select * from {{ ml_roc_curve(ref('a_model'), ...) }} -#}
{% macro ml_roc_curve(model, input=none, thresholds=none, alias=none, version=none) %}
    {{ return(adapter.dispatch('ml_roc_curve', 'analytics_ml')(analytics_ml._ml_pinned_model(model, alias, version), input, thresholds)) }}
{% endmacro %}

{% macro default__ml_roc_curve(model, input=none, thresholds=none) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_roc_curve') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_roc_curve(model, input=none, thresholds=none) %}
    {{ return(analytics_ml._ml_bigquery_call('roc_curve', model, input, thresholds=thresholds)) }}
{% endmacro %}

{#- The local engine's compiled template for this model, run by DuckDB itself. -#}
{% macro duckdb__ml_roc_curve(model, input=none, thresholds=none) %}
    {{ return(analytics_ml._ml_duckdb_call('roc_curve', model, input, thresholds=thresholds)) }}
{% endmacro %}
