{#- ML.FEATURE_INFO: one row per input feature, with its training statistics.
    Usable in any FROM clause: select * from {{ ml_feature_info(ref('a_model')) }} -#}
{% macro ml_feature_info(model, alias=none, version=none) %}
    {{ return(adapter.dispatch('ml_feature_info', 'analytics_ml')(analytics_ml._ml_pinned_model(model, alias, version))) }}
{% endmacro %}

{% macro default__ml_feature_info(model) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_feature_info') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_feature_info(model) %}
    {{ return(analytics_ml._ml_bigquery_call('feature_info', model)) }}
{% endmacro %}

{#- The local engine's compiled template for this model, run by DuckDB itself. -#}
{% macro duckdb__ml_feature_info(model) %}
    {{ return(analytics_ml._ml_duckdb_call('feature_info', model)) }}
{% endmacro %}
