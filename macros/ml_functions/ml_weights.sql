{#- ML.WEIGHTS: one row per processed input, plus __INTERCEPT__; standardize=true gives the weights
    of the standardized features (BigQuery's STRUCT(TRUE AS standardize)).
    Usable in any FROM clause: select * from {{ ml_weights(ref('a_model')) }} -#}
{% macro ml_weights(model, standardize=false, alias=none, version=none) %}
    {{ return(adapter.dispatch('ml_weights', 'analytics_ml')(analytics_ml._ml_pinned_model(model, alias, version), standardize)) }}
{% endmacro %}

{% macro default__ml_weights(model, standardize=false) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_weights') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_weights(model, standardize=false) %}
    {{ return(analytics_ml._ml_bigquery_call('weights', model, settings={'standardize': 'TRUE' if standardize else none})) }}
{% endmacro %}

{#- The local engine's compiled template for this model, run by DuckDB itself: the standardized
    weights are a template row of their own (weights_standardized, docs/engine-contract.md). -#}
{% macro duckdb__ml_weights(model, standardize=false) %}
    {{ return(analytics_ml._ml_duckdb_call('weights_standardized' if standardize else 'weights', model)) }}
{% endmacro %}
