with

forecast as (

    select * from {{ ml_forecast(ref('us_macro_arima'), horizon=8, confidence_level=0.9) }}

),

final as (

    select
        series,
        cast(forecast_timestamp as date) as quarter_start,
        forecast_value,
        prediction_interval_lower_bound,
        prediction_interval_upper_bound

    from forecast

)

select * from final
