{#- ML.DECODE_IMAGE: JPEG, PNG or BMP bytes as BigQuery's image struct, ([height, width, channels],
    pixel values / 255). Usable in any select list:
    select {{ ml_decode_image('data') }} as image from {{ ref('images') }} -#}
{% macro ml_decode_image(data) %}
    {{ return(adapter.dispatch('ml_decode_image', 'analytics_ml')(data)) }}
{% endmacro %}

{% macro default__ml_decode_image(data) %}
    {%- do analytics_ml._ml_unsupported_adapter('ml_decode_image') -%}
{% endmacro %}

{#- BigQuery ML's own scalar function. -#}
{% macro bigquery__ml_decode_image(data) %}
    {{ return('ML.DECODE_IMAGE(' ~ data ~ ')') }}
{% endmacro %}

{#- The local engine's function, registered by the ml.dbt_plugin plugin (the name is
    ml/sql/scalar_functions.py's). -#}
{% macro duckdb__ml_decode_image(data) %}
    {{ return('__ml_decode_image(' ~ data ~ ')') }}
{% endmacro %}
