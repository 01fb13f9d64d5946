{#- `project`.`dataset`.`model` for the DDL on both targets. Backticks are BigQuery's quoting and
    the local engine reads the same text; names are checked first because a backtick inside one
    could not be escaped. -#}
{% macro _ml_model_name(relation) %}
    {%- set parts = [relation.database, relation.schema, relation.identifier] -%}
    {%- set patterns = ['^[A-Za-z0-9][A-Za-z0-9_.:-]*$', '^[A-Za-z0-9_]+$', '^[A-Za-z0-9_]+$'] -%}
    {%- for part in parts -%}
        {%- if not modules.re.match(patterns[loop.index0], part | string) -%}
            {%- do exceptions.raise_compiler_error("bqml_model '" ~ relation.identifier ~ "': '" ~ part ~ "' is not a valid BigQuery project, dataset or model name") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('`' ~ parts | join('`.`') ~ '`') }}
{% endmacro %}
