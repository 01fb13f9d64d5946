{#- ML.ROC_CURVE: one row per threshold (binary logistic models).
    Usable in any FROM clause: select * from {{ ml_roc_curve(ref('a_model'), ...) }} -#}
{% macro ml_roc_curve(model, input=none) %}
    {{ return(adapter.dispatch('ml_roc_curve', 'analytics_ml')(model, input)) }}
{% endmacro %}

{% macro default__ml_roc_curve(model, input=none) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_roc_curve') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_roc_curve(model, input=none) %}
    {{ return(analytics_ml._ml_bigquery_call('roc_curve', model, input)) }}
{% endmacro %}

{#- The local engine's compiled template for this model, run by DuckDB itself. -#}
{% macro duckdb__ml_roc_curve(model, input=none) %}
    {{ return(analytics_ml._ml_duckdb_call('roc_curve', model, input)) }}
{% endmacro %}
