{#- ML.FEATURE_IMPORTANCE (boosted_tree_* / random_forest_*): one row per input feature with
    importance_weight, importance_gain and importance_cover.
    Usable in any FROM clause: select * from {{ ml_feature_importance(ref('a_model')) }} -#}
{% macro ml_feature_importance(model, alias=none, version=none) %}
    {{ return(adapter.dispatch('ml_feature_importance', 'analytics_ml')(analytics_ml._ml_pinned_model(model, alias, version))) }}
{% endmacro %}

{% macro default__ml_feature_importance(model) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_feature_importance') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_feature_importance(model) %}
    {{ return(analytics_ml._ml_bigquery_call('feature_importance', model)) }}
{% endmacro %}

{#- The local engine's compiled template for this model, run by DuckDB itself. -#}
{% macro duckdb__ml_feature_importance(model) %}
    {{ return(analytics_ml._ml_duckdb_call('feature_importance', model)) }}
{% endmacro %}
