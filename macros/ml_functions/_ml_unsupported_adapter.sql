{% macro _ml_unsupported_adapter(macro_name) %}
    {%- do exceptions.raise_compiler_error(macro_name ~ " needs BigQuery ML or the local engine: adapter '" ~ adapter.type() ~ "' has neither (targets: bigquery, duckdb)") -%}
{% endmacro %}
