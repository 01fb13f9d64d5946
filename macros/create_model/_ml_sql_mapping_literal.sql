{#- The mapping forms of _ml_sql_literal: {'sql': ...}, hparam_range, hparam_candidates, else STRUCT pairs. -#}
{% macro _ml_sql_mapping_literal(mapping) %}
    {%- set keys = mapping.keys() | list -%}
    {%- set only = keys[0] | lower if keys | length == 1 else none -%}
    {%- if only == 'sql' -%}
        {{ return(mapping[keys[0]]) }}
    {%- elif only == 'hparam_range' -%}
        {%- set bounds = mapping[keys[0]] -%}
        {%- if bounds is string or bounds is not iterable or bounds | length != 2 -%}
            {%- do exceptions.raise_compiler_error("hparam_range takes [min, max], not " ~ bounds) -%}
        {%- endif -%}
        {{ return('HPARAM_RANGE(' ~ analytics_ml._ml_sql_literal(bounds[0]) ~ ', ' ~ analytics_ml._ml_sql_literal(bounds[1]) ~ ')') }}
    {%- elif only == 'hparam_candidates' -%}
        {{ return('HPARAM_CANDIDATES(' ~ analytics_ml._ml_sql_array_literal(mapping[keys[0]], struct_lists=true) ~ ')') }}
    {%- endif -%}
    {%- set structs = [] -%}
    {%- for key, weight in mapping.items() -%}
        {%- do structs.append('STRUCT(' ~ analytics_ml._ml_sql_literal(key | string) ~ ', ' ~ analytics_ml._ml_sql_literal(weight) ~ ')') -%}
    {%- endfor -%}
    {{ return('[' ~ structs | join(', ') ~ ']') }}
{% endmacro %}
