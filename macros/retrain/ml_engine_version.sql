{#- The version of the engine that trains bqml_models on this target, or none where the warehouse
    trains them itself (BigQuery ML). The retrain policy folds it into the training fingerprint. -#}
{% macro ml_engine_version() %}
    {{ return(adapter.dispatch('ml_engine_version', 'analytics_ml')()) }}
{% endmacro %}

{% macro default__ml_engine_version() %}
    {{ return(none) }}
{% endmacro %}

{#- The local engine's version, from ml_engine_version() that the ml.dbt_plugin plugin registers
    (profiles.yml): the engine dbt imports is the one that trains. -#}
{% macro duckdb__ml_engine_version() %}
    {%- set query -%}
        select function_name from duckdb_functions() where function_name = 'ml_engine_version'
    {%- endset -%}
    {%- if run_query(query).rows | length == 0 -%}
        {%- do exceptions.raise_compiler_error("ml_engine_version() is not registered: add the plugin {module: ml.dbt_plugin, alias: ml_engine} to the duckdb output of profiles.yml") -%}
    {%- endif -%}
    {{ return(run_query('select ml_engine_version()').columns[0].values()[0]) }}
{% endmacro %}
