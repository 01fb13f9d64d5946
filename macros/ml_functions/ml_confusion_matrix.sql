{#- ML.CONFUSION_MATRIX: one row per expected label, one column per predicted label.
    Usable in any FROM clause: select * from {{ ml_confusion_matrix(ref('a_model'), ...) }} -#}
{% macro ml_confusion_matrix(model, input=none, threshold=none, alias=none, version=none) %}
    {{ return(adapter.dispatch('ml_confusion_matrix', 'analytics_ml')(analytics_ml._ml_pinned_model(model, alias, version), input, threshold)) }}
{% endmacro %}

{% macro default__ml_confusion_matrix(model, input=none, threshold=none) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_confusion_matrix') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_confusion_matrix(model, input=none, threshold=none) %}
    {{ return(analytics_ml._ml_bigquery_call('confusion_matrix', model, input, {'threshold': threshold})) }}
{% endmacro %}

{#- The local engine's compiled template for this model, run by DuckDB itself. -#}
{% macro duckdb__ml_confusion_matrix(model, input=none, threshold=none) %}
    {{ return(analytics_ml._ml_duckdb_call('confusion_matrix', model, input, threshold)) }}
{% endmacro %}
