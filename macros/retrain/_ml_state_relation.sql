{#- One row per trained model: what it was trained from. Beside the engine's own tables on DuckDB,
    a dataset of its own on BigQuery (var ml_state_schema). -#}
{% macro _ml_state_relation() %}
    {{ return(api.Relation.create(database=this.database, schema=var('ml_state_schema', '_ml'), identifier='dbt_build_state', type='table')) }}
{% endmacro %}
