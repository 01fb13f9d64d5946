{#- An ML function's input: a relation (with BigQuery's TABLE keyword where asked) or a query,
    parenthesised once. -#}
{% macro _ml_input_sql(input, table_keyword='') %}
    {%- if input is string -%}
        {%- set query = input | trim -%}
        {{ return(query if query.startswith('(') and query.endswith(')') else '(' ~ query ~ ')') }}
    {%- endif -%}
    {{ return(table_keyword ~ input) }}
{% endmacro %}
