with

weights as (

    select * from {{ ml_weights(ref('penguins_body_mass')) }}

)

select * from weights
