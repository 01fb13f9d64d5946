{#- ML.RESIZE_IMAGE: an image struct (ml_decode_image's, FLOAT64 or INT64 data) resized bilinearly
    to target_height x target_width, or within them keeping its aspect ratio. The arguments are
    SQL expressions or values (preserve_aspect_ratio: true / false). Usable in any select list:
    select {{ ml_resize_image(ml_decode_image('data'), 224, 224, false) }} as image from ... -#}
{% macro ml_resize_image(image, target_height, target_width, preserve_aspect_ratio) %}
    {%- set keep = preserve_aspect_ratio -%}
    {%- if keep is sameas true or keep is sameas false -%}
        {%- set keep = keep | string | upper -%}
    {%- endif -%}
    {{ return(adapter.dispatch('ml_resize_image', 'analytics_ml')(image, target_height, target_width, keep)) }}
{% endmacro %}

{% macro default__ml_resize_image(image, target_height, target_width, preserve_aspect_ratio) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_resize_image') -%}
{% endmacro %}

{#- BigQuery ML's own scalar function. -#}
{% macro bigquery__ml_resize_image(image, target_height, target_width, preserve_aspect_ratio) %}
    {{ return('ML.RESIZE_IMAGE(' ~ [image, target_height, target_width, preserve_aspect_ratio] | join(', ') ~ ')') }}
{% endmacro %}

{#- The local engine's function, registered by the ml.dbt_plugin plugin (the name is
    ml/sql/scalar_functions.py's). -#}
{% macro duckdb__ml_resize_image(image, target_height, target_width, preserve_aspect_ratio) %}
    {{ return('__ml_resize_image(' ~ [image, target_height, target_width, preserve_aspect_ratio] | join(', ') ~ ')') }}
{% endmacro %}
