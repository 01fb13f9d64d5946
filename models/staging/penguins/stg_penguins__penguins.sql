with

source as (

    select * from {{ ref('penguins') }}

),

renamed as (

    select
        penguin_id,
        species,
        island,
        bill_length_mm,
        bill_depth_mm,
        flipper_length_mm,
        body_mass_g,
        sex,
        year as observed_year

    from source

)

select * from renamed
