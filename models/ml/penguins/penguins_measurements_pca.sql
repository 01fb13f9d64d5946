{{
    config(meta={
        'ml_config': {
            'model_type': 'pca',
            'num_principal_components': 2,
            'scale_features': true,
        },
    })
}}

with

penguins as (

    select * from {{ ref('stg_penguins__penguins') }}

),

measured as (

    select
        bill_length_mm,
        bill_depth_mm,
        flipper_length_mm,
        body_mass_g

    from penguins
    where body_mass_g is not null

)

select * from measured
