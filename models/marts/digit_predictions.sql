{{ config(pre_hook="{{ analytics_ml.classify_image_ddl() }}") }}

with

digits as (

    select * from {{ ref('digits') }}

),

images as (

    select
        digit_id,
        label,
        split,
        from_base64(image_png_base64) as image_png
    from digits

),

classified as (

    select
        digit_id,
        label,
        split,
        {{ analytics_ml.classify_image('image_png') }} as predicted_label_text
    from images

),

final as (

    select
        digit_id,
        split,
        label,
        cast(predicted_label_text as {{ dbt.type_int() }}) as predicted_label,
        cast(predicted_label_text as {{ dbt.type_int() }}) = label as is_correct
    from classified

)

select * from final
