{#- ML.EXPLAIN_PREDICT: ML.PREDICT's prediction plus top_feature_attributions (the top_k_features
    largest, by absolute value), baseline_prediction_value, prediction_value and
    approximation_error, then the input columns.
    Usable in any FROM clause: select * from {{ ml_explain_predict(ref('a_model'), ref('rows')) }} -#}
{% macro ml_explain_predict(model, input, top_k_features=5, threshold=none, alias=none, version=none) %}
    {{ return(adapter.dispatch('ml_explain_predict', 'analytics_ml')(analytics_ml._ml_pinned_model(model, alias, version), input, top_k_features, threshold)) }}
{% endmacro %}

{% macro default__ml_explain_predict(model, input, top_k_features=5, threshold=none) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_explain_predict') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_explain_predict(model, input, top_k_features=5, threshold=none) %}
    {{ return(analytics_ml._ml_bigquery_call('explain_predict', model, input, {'top_k_features': top_k_features, 'threshold': threshold})) }}
{% endmacro %}

{#- The local engine's compiled template, run by DuckDB itself. GLM attributions are plain SQL;
    tree models' tree SHAP runs in the engine's Arrow UDF (dbt's connection has it through the
    ml.dbt_plugin plugin). -#}
{% macro duckdb__ml_explain_predict(model, input, top_k_features=5, threshold=none) %}
    {%- set call = analytics_ml._ml_duckdb_call('explain_predict', model, input, threshold) -%}
    {{ return(call | replace(analytics_ml._ml_contract().placeholders.top_k, top_k_features | string)) }}
{% endmacro %}
