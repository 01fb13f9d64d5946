with

training_info as (

    select * from {{ ml_training_info(ref('titanic_survival')) }}

)

select * from training_info
