with

source as (

    select * from {{ ref('us_macro_quarterly') }}

),

renamed as (

    select
        series,
        cast(quarter_start as date) as quarter_start,
        cast(value as double) as rate

    from source

)

select * from renamed
