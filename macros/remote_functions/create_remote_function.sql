{#-
  The DDL that makes `name(arguments...)` callable from SQL as a remote function.
  arguments: list of [argument name, BigQuery type]; user_defined_context: dict of strings.
-#}
{% macro create_remote_function(name, arguments, returns, endpoint, connection, max_batching_rows=50, user_defined_context={}) -%}
  {{ return(adapter.dispatch('create_remote_function', 'analytics_ml')(name, arguments, returns, endpoint, connection, max_batching_rows, user_defined_context)) }}
{%- endmacro %}

{% macro default__create_remote_function(name, arguments, returns, endpoint, connection, max_batching_rows, user_defined_context) -%}
  {{ exceptions.raise_compiler_error("create_remote_function: remote functions exist on BigQuery and on the local DuckDB target only, not on " ~ target.type) }}
{%- endmacro %}

{#- BigQuery: CREATE FUNCTION ... REMOTE WITH CONNECTION, an HTTP endpoint (Cloud Function) behind a BigQuery connection. -#}
{#- The endpoint, the connection and the context come from vars and environment variables: the
    strings are escaped, the connection is checked to be a connection path. Checked only when the
    DDL runs (execute): dbt renders hooks while it parses the whole project, and compiling or
    building another model must not need this one's settings. -#}
{% macro bigquery__create_remote_function(name, arguments, returns, endpoint, connection, max_batching_rows, user_defined_context) -%}
  {%- if execute and (not endpoint or not connection) -%}
    {{ exceptions.raise_compiler_error("create_remote_function(" ~ name ~ "): set the endpoint (deployed function URL) and the connection (project.location.connection_id)") }}
  {%- endif -%}
  {%- if execute and not modules.re.match('^[A-Za-z0-9_.:-]+$', connection | string) -%}
    {{ exceptions.raise_compiler_error("create_remote_function(" ~ name ~ "): connection '" ~ connection ~ "' is not a project.location.connection_id path") }}
  {%- endif -%}
  {%- set q = analytics_ml._ml_sql_literal -%}
create or replace function {{ analytics_ml._remote_function_relation(name) }}(
  {%- for argument in arguments %}{{ argument[0] }} {{ argument[1] }}{{ ", " if not loop.last }}{% endfor -%}
) returns {{ returns }}
remote with connection `{{ connection }}`
options (
  endpoint = {{ q(endpoint | string) }},
  max_batching_rows = {{ analytics_ml._remote_function_batch_rows(name, max_batching_rows) }}
  {%- if user_defined_context %},
  user_defined_context = [{% for key, value in user_defined_context.items() %}({{ q(key | string) }}, {{ q(value | string) }}){{ ", " if not loop.last }}{% endfor %}]
  {%- endif %}
)
{%- endmacro %}

{#-
  DuckDB: a macro over the dbt-duckdb plugin UDF `remote_<name>` (remote_functions/duckdb_plugin.py), which
  sends the same JSON protocol to the function served locally; the endpoint and connection belong to the plugin.
-#}
{% macro duckdb__create_remote_function(name, arguments, returns, endpoint, connection, max_batching_rows, user_defined_context) -%}
create or replace macro {{ analytics_ml._remote_function_relation(name) }}(
  {%- for argument in arguments %}{{ argument[0] }}{{ ", " if not loop.last }}{% endfor -%}
) as remote_{{ name }}(
  {%- for argument in arguments %}{{ argument[0] }}, {% endfor -%}
  '{{ tojson(user_defined_context) | replace("'", "''") }}', {{ analytics_ml._remote_function_batch_rows(name, max_batching_rows) }})
{%- endmacro %}

{#- max_batching_rows (a var on the BigQuery side) as the positive integer it must be. -#}
{% macro _remote_function_batch_rows(name, max_batching_rows) -%}
  {%- if max_batching_rows is not number or max_batching_rows is sameas true or max_batching_rows is sameas false
        or max_batching_rows != max_batching_rows | int or max_batching_rows < 1 -%}
    {{ exceptions.raise_compiler_error("create_remote_function(" ~ name ~ "): max_batching_rows must be a positive integer, got " ~ max_batching_rows) }}
  {%- endif -%}
  {{ return(max_batching_rows | int) }}
{%- endmacro %}
