with

roc_curve as (

    select * from {{ ml_roc_curve(ref('titanic_survival')) }}

)

select * from roc_curve
