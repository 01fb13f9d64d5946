{{
    config(meta={
        'ml_config': {
            'model_type': 'kmeans',
            'num_clusters': 3,
            'kmeans_init_method': 'kmeans++',
            'standardize_features': true,
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
    where
        bill_length_mm is not null
        and bill_depth_mm is not null
        and flipper_length_mm is not null
        and body_mass_g is not null

)

select * from measured
