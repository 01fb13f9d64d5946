with

evaluation as (

    select * from {{ ml_evaluate(ref('penguins_body_mass')) }}

)

select * from evaluation
