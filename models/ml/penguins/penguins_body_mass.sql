{{
    config(meta={
        'ml_config': {
            'model_type': 'linear_reg',
            'input_label_cols': ['body_mass_g'],
            'optimize_strategy': 'normal_equation',
            'data_split_method': 'no_split',
        },
    })
}}

with

penguins as (

    select * from {{ ref('stg_penguins__penguins') }}

),

weighed as (

    select
        species,
        island,
        sex,
        bill_length_mm,
        bill_depth_mm,
        flipper_length_mm,
        body_mass_g

    from penguins
    where body_mass_g is not null

)

select * from weighed
