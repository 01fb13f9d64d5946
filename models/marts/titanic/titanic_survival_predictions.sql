with

predicted as (

    select * from {{ ml_predict(ref('titanic_survival'), ref('stg_titanic__passengers')) }}

),

final as (

    select
        passenger_id,
        survived,
        predicted_survived,
        predicted_survived_probs,
        -- The model's eval split (see titanic_survival).
        mod(passenger_id, 5) = 0 as is_holdout

    from predicted

)

select * from final
