{#- Whether this dbt process can run the local engine's Arrow UDFs for `model` (tree boosters,
    DNN networks, tree SHAP; see ml/engine/udfs.py): the ml.dbt_plugin plugin registered them on
    dbt's connection, and var ml_local_udfs is not false. When it can, the model's booster or
    network is loaded into the process here, before the query that names it runs. -#}
{% macro _ml_local_udfs_ready(model) %}
    {%- if not var('ml_local_udfs', true) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set contract = analytics_ml._ml_contract() -%}
    {%- set loader = run_query("select count(*) from duckdb_functions() where function_name = '" ~ contract.udfs.load ~ "'") -%}
    {%- if loader.columns[0].values()[0] == 0 -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set load -%}
        select {{ contract.udfs.load }}(model_type, cast(state as varchar))
        from {{ model.database }}.{{ contract.engine_schema }}.models
        where dataset = '{{ model.schema }}' and model = '{{ model.identifier }}'
    {%- endset -%}
    {%- do run_query(load) -%}
    {{ return(true) }}
{% endmacro %}

{#- Whether a template calls one of the engine's scoring UDFs. -#}
{% macro _ml_uses_udfs(template) %}
    {%- for name in analytics_ml._ml_contract().udfs.scoring if name ~ '(' in template -%}
        {{ return(true) }}
    {%- endfor -%}
    {{ return(false) }}
{% endmacro %}
