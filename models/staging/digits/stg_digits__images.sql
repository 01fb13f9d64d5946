with

source as (

    select * from {{ ref('digits') }}

),

decoded as (

    select
        digit_id,
        label,
        split,
        image_png_base64,
        from_base64(image_png_base64) as image_png

    from source

)

select * from decoded
