{{
    config(pre_hook=[
        "{{ analytics_ml.classify_image_ddl() }}",
        "{{ analytics_ml.start_digits_model_server() }}",
    ])
}}

{#- The models' inputs: the remote model sends `image`, the ONNX graph reads `input`. -#}
{%- set held_out_images -%}
    select digit_id, image_png_base64 as image
    from {{ ref('stg_digits__images') }}
    where split = 'test'
{%- endset -%}
{%- set held_out_decoded -%}
    select digit_id, {{ ml_decode_image('image_png') }} as input
    from {{ ref('stg_digits__images') }}
    where split = 'test'
{%- endset %}

with

held_out as (

    select * from {{ ref('stg_digits__images') }}
    where split = 'test'

),

by_remote_function as (

    select
        digit_id,
        cast({{ analytics_ml.classify_image('image_png') }} as {{ dbt.type_int() }}) as predicted_label
    from held_out

),

by_remote_model as (

    select
        digit_id,
        cast(label as {{ dbt.type_int() }}) as predicted_label
    from {{ ml_predict(ref('digits_cnn_remote'), held_out_images) }}

),

by_onnx as (

    select
        digit_id,
        {{ analytics_ml.digits_class_index('output') }} as predicted_label
    from {{ ml_predict(ref('digits_cnn_onnx'), held_out_decoded) }}

),

final as (

    select
        held_out.digit_id,
        held_out.label,
        by_remote_function.predicted_label as remote_function_label,
        by_remote_model.predicted_label as remote_model_label,
        by_onnx.predicted_label as onnx_label,
        by_remote_function.predicted_label = by_remote_model.predicted_label
        and by_remote_model.predicted_label = by_onnx.predicted_label as all_paths_agree

    from held_out
    inner join by_remote_function on held_out.digit_id = by_remote_function.digit_id
    inner join by_remote_model on held_out.digit_id = by_remote_model.digit_id
    inner join by_onnx on held_out.digit_id = by_onnx.digit_id

)

select * from final
