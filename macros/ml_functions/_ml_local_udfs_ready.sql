{#- Whether this dbt process can run the local engine's Arrow UDFs for `model` (tree boosters,
    DNN networks, tree SHAP; see ml/udf.py): the ml.dbt_plugin plugin registered them on dbt's
    connection, and var ml_local_udfs is not false. When it can, the model's booster or network
    is loaded into the process here, before the query that names it runs. -#}
{% macro _ml_local_udfs_ready(model) %}
    {%- if not var('ml_local_udfs', true) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set loader = run_query("select count(*) from duckdb_functions() where function_name = '__ml_load_model'") -%}
    {%- if loader.columns[0].values()[0] == 0 -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set load -%}
        select __ml_load_model(cast(state as varchar))
        from {{ model.database }}._ml.models
        where dataset = '{{ model.schema }}' and model = '{{ model.identifier }}'
    {%- endset -%}
    {%- do run_query(load) -%}
    {{ return(true) }}
{% endmacro %}

{#- Whether a template calls one of the engine's scoring UDFs (ml/udf.py). -#}
{% macro _ml_uses_udfs(template) %}
    {{ return('__ml_tree_shap(' in template or '__ml_tree_margin(' in template or '__ml_dnn_forward(' in template) }}
{% endmacro %}
