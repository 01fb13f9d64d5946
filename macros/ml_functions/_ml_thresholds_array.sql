{#- ML.ROC_CURVE's thresholds, a non-empty list of numbers in [0, 1], as an array literal: the
    same text is BigQuery's ARRAY<FLOAT64> and the local engine's ROC thresholds placeholder's list. -#}
{% macro _ml_thresholds_array(thresholds) %}
    {%- if thresholds is string or thresholds is mapping or thresholds is not iterable or thresholds | length == 0 -%}
        {%- do exceptions.raise_compiler_error("ml_roc_curve: thresholds must be a non-empty list of numbers, e.g. [0.25, 0.5, 0.75]; got " ~ thresholds) -%}
    {%- endif -%}
    {%- for value in thresholds -%}
        {%- if value is not number or value is sameas true or value is sameas false or value < 0 or value > 1 -%}
            {%- do exceptions.raise_compiler_error("ml_roc_curve: each threshold must be a number between 0 and 1; got " ~ value) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('[' ~ thresholds | join(', ') ~ ']') }}
{% endmacro %}
