{#- One of the model's ML settings (ml_config, transform, retrain): under meta, or at the top level
    of its config as dbt_ml writes it; set in both places it is an error, not a silent choice. -#}
{% macro _ml_config_entry(name, default) %}
    {%- set in_meta, at_top = config.meta_get(name), config.get(name) -%}
    {%- if in_meta is not none and at_top is not none -%}
        {%- do exceptions.raise_compiler_error("bqml_model '" ~ model.name ~ "': " ~ name ~ " is set both at the top of its config and under meta: keep one") -%}
    {%- endif -%}
    {{ return(in_meta if in_meta is not none else at_top if at_top is not none else default) }}
{% endmacro %}
