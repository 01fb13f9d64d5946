{#- The OPTIONS list: model_type and the label first (as BigQuery's reference writes them), then the
    rest sorted, so the text (and the definition hash the retrain policy keeps) does not depend on
    how dbt merged the config. -#}
{% macro _ml_render_options(options) %}
    {%- set leading = ['model_type', 'input_label_cols'] -%}
    {%- set lines = [] -%}
    {%- for name in leading + (options.keys() | reject('in', leading) | sort) if name in options -%}
        {%- do lines.append(name ~ ' = ' ~ analytics_ml._ml_sql_literal(options[name])) -%}
    {%- endfor -%}
    {{ return(lines | join(',\n  ')) }}
{% endmacro %}
