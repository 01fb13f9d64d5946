{#- config transform: a list of select-list expressions, or the select list as one string. -#}
{% macro _ml_render_transform(transform) %}
    {%- if transform is string -%}
        {{ return(transform | trim) }}
    {%- endif -%}
    {{ return(transform | map('trim') | join(',\n  ')) }}
{% endmacro %}
