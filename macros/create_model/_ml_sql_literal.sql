{#- A config value as a BigQuery ML option value:
      'text' -> 'text' (escaped)       true -> TRUE          3, 0.5 -> 3, 0.5
      [a, b] -> [a, b]                 {'sql': 'expr'} -> expr, verbatim
      {'hparam_range': [lo, hi]} -> HPARAM_RANGE(lo, hi)
      {'hparam_candidates': [x, y]} -> HPARAM_CANDIDATES([x, y]); a list candidate (hidden_units)
                                       becomes STRUCT([...]) as BigQuery asks
      any other mapping -> [STRUCT('key', value), ...]  (class_weights: {'1': 2.0, '0': 1.0}) -#}
{% macro _ml_sql_literal(value) %}
    {%- if value is none -%}
        {{ return('NULL') }}
    {%- elif value is sameas true or value is sameas false -%}
        {{ return(value | string | upper) }}
    {%- elif value is number -%}
        {{ return(value | string) }}
    {%- elif value is string -%}
        {{ return("'" ~ value | replace('\\', '\\\\') | replace("'", "\\'") | replace('\n', '\\n') | replace('\r', '\\r') ~ "'") }}
    {%- elif value is mapping -%}
        {{ return(analytics_ml._ml_sql_mapping_literal(value)) }}
    {%- elif value is iterable -%}
        {{ return(analytics_ml._ml_sql_array_literal(value)) }}
    {%- endif -%}
    {%- do exceptions.raise_compiler_error("cannot write " ~ value ~ " as a BigQuery ML option value") -%}
{% endmacro %}
