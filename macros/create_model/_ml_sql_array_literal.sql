{#- [v, ...]; with struct_lists, a list item becomes STRUCT([...]) (HPARAM_CANDIDATES of hidden_units). -#}
{% macro _ml_sql_array_literal(values, struct_lists=false) %}
    {%- set items = [] -%}
    {%- for item in values -%}
        {%- set literal = analytics_ml._ml_sql_literal(item) -%}
        {%- if struct_lists and item is iterable and item is not string and item is not mapping -%}
            {%- set literal = 'STRUCT(' ~ literal ~ ')' -%}
        {%- endif -%}
        {%- do items.append(literal) -%}
    {%- endfor -%}
    {{ return('[' ~ items | join(', ') ~ ']') }}
{% endmacro %}
