{#- Where remote functions live: the target's dataset (BigQuery) / schema (DuckDB). -#}
{% macro _remote_function_relation(name) -%}
  {{ return(api.Relation.create(database=target.database, schema=target.schema, identifier=name)) }}
{%- endmacro %}
