with

feature_info as (

    select * from {{ ml_feature_info(ref('titanic_survival')) }}

)

select * from feature_info
