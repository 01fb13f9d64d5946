{#- One row per trained model: what it was trained from. Beside the engine's own tables on DuckDB,
    a dataset of its own on BigQuery (var ml_state_schema, checked to be a plain name: relations
    render unquoted on DuckDB). -#}
{% macro _ml_state_relation() %}
    {%- set schema = var('ml_state_schema', '_ml') | string -%}
    {%- if not modules.re.match('^[A-Za-z_][A-Za-z0-9_]*$', schema) -%}
        {%- do exceptions.raise_compiler_error("var ml_state_schema '" ~ schema ~ "' is not a dataset name (letters, digits, _)") -%}
    {%- endif -%}
    {{ return(api.Relation.create(database=this.database, schema=schema, identifier='dbt_build_state', type='table')) }}
{% endmacro %}
