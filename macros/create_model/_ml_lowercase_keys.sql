{#- BigQuery option names are case-insensitive; one spelling lets checks and the fingerprint agree. -#}
{% macro _ml_lowercase_keys(mapping) %}
    {%- set lowered = {} -%}
    {%- for key, value in mapping.items() -%}
        {%- do lowered.update({key | lower: value}) -%}
    {%- endfor -%}
    {{ return(lowered) }}
{% endmacro %}
