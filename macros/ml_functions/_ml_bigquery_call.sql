{#- ML.<FUNCTION>(MODEL m [, TABLE t | (query)] [, [thresholds]] [, STRUCT(...)]) exactly as BigQuery
    ML writes it; `thresholds` (ML.ROC_CURVE) is a list of numbers, rendered as an array literal. -#}
{% macro _ml_bigquery_call(function, model, input=none, settings={}, thresholds=none) %}
    {%- set arguments = ['MODEL ' ~ model] -%}
    {%- if input is not none -%}
        {%- do arguments.append(analytics_ml._ml_input_sql(input, 'TABLE ')) -%}
    {%- endif -%}
    {%- if thresholds is not none -%}
        {%- do arguments.append(analytics_ml._ml_thresholds_array(thresholds)) -%}
    {%- endif -%}
    {%- set fields = [] -%}
    {%- for name, value in settings.items() if value is not none -%}
        {%- do fields.append(value ~ ' AS ' ~ name) -%}
    {%- endfor -%}
    {%- if fields -%}
        {%- do arguments.append('STRUCT(' ~ fields | join(', ') ~ ')') -%}
    {%- endif -%}
    {{ return('ML.' ~ function | upper ~ '(' ~ arguments | join(', ') ~ ')') }}
{% endmacro %}
