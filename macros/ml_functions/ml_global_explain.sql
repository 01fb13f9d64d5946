{#- ML.GLOBAL_EXPLAIN: one row per feature, its mean absolute attribution over the training data;
    class_level_explain=true gives one row per (class_label, feature). The model must be trained
    with enable_global_explain = TRUE.
    Usable in any FROM clause: select * from {{ ml_global_explain(ref('a_model')) }} -#}
{% macro ml_global_explain(model, class_level_explain=false, alias=none, version=none) %}
    {{ return(adapter.dispatch('ml_global_explain', 'analytics_ml')(analytics_ml._ml_pinned_model(model, alias, version), class_level_explain)) }}
{% endmacro %}

{% macro default__ml_global_explain(model, class_level_explain=false) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_global_explain') -%}
{% endmacro %}

{#- BigQuery ML's own table function. -#}
{% macro bigquery__ml_global_explain(model, class_level_explain=false) %}
    {{ return(analytics_ml._ml_bigquery_call('global_explain', model, settings={'class_level_explain': 'TRUE' if class_level_explain else none})) }}
{% endmacro %}

{#- The local engine computed both forms at training; the class-level one is a template row of its
    own (global_explain_class_level, docs/engine-contract.md). -#}
{% macro duckdb__ml_global_explain(model, class_level_explain=false) %}
    {{ return(analytics_ml._ml_duckdb_call('global_explain_class_level' if class_level_explain else 'global_explain', model)) }}
{% endmacro %}
