{% macro ml_model_exists(relation) %}
    {{ return(adapter.dispatch('ml_model_exists', 'analytics_ml')(relation)) }}
{% endmacro %}

{#- The local engine keeps a view at the model's name (docs/engine-contract.md). -#}
{% macro default__ml_model_exists(relation) %}
    {{ return(load_relation(relation) is not none) }}
{% endmacro %}

{#- dbt-bigquery lists tables, not models: the state table is the record there, and a model
    deleted by hand comes back with --full-refresh. -#}
{% macro bigquery__ml_model_exists(relation) %}
    {{ return(true) }}
{% endmacro %}
