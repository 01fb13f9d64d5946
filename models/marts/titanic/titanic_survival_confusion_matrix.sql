with

confusion_matrix as (

    select * from {{ ml_confusion_matrix(ref('titanic_survival')) }}

)

select * from confusion_matrix
