with

evaluation as (

    select * from {{ ml_evaluate(ref('titanic_survival')) }}

)

select * from evaluation
