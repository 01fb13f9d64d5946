{#- The one CREATE OR REPLACE MODEL text both targets run: BigQuery as a query job, DuckDB through
    the local engine. Arguments are plain values so the DDL can be rendered for any target (and by
    tests) without a connection. `remote`: the INPUT / OUTPUT / REMOTE WITH CONNECTION clauses
    (_ml_remote_clauses); an empty `sql` (imported and remote models) renders no AS. -#}
{% macro ml_create_model_ddl(relation, sql, ml_config, transform=none, remote=none) %}
    {%- set options = analytics_ml._ml_lowercase_keys(ml_config) -%}
CREATE OR REPLACE MODEL {{ analytics_ml._ml_model_name(relation) }}
{%- if transform %}
TRANSFORM (
  {{ analytics_ml._ml_render_transform(transform) }}
)
{%- endif %}
{%- if remote %}
{{ analytics_ml._ml_render_remote(remote) }}
{%- endif %}
OPTIONS (
  {{ analytics_ml._ml_render_options(options) }}
)
{%- if sql | trim | trim(';') %}
AS
{{ sql | trim | trim(';') }}
{%- endif %}
{%- endmacro %}
