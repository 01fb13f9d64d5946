{#- ML.TRIAL_INFO of a model trained with hyperparameter tuning (num_trials): one row per trial,
    its hyperparameters, objective metric on the eval split, losses, status and is_optimal.
    Usable in any FROM clause: select * from {{ ml_trial_info(ref('a_model')) }} -#}
{% macro ml_trial_info(model, alias=none, version=none) %}
    {{ return(adapter.dispatch('ml_trial_info', 'analytics_ml')(analytics_ml._ml_pinned_model(model, alias, version))) }}
{% endmacro %}

{% macro default__ml_trial_info(model) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_trial_info') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_trial_info(model) %}
    {{ return(analytics_ml._ml_bigquery_call('trial_info', model)) }}
{% endmacro %}

{#- The local engine's compiled template for this model, run by DuckDB itself. -#}
{% macro duckdb__ml_trial_info(model) %}
    {{ return(analytics_ml._ml_duckdb_call('trial_info', model)) }}
{% endmacro %}
