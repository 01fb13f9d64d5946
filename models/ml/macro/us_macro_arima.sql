{#- One ARIMA per series (time_series_id_col): auto.ARIMA picks each order by AIC. Both series
    of statsmodels' macrodata are seasonally adjusted already, so no season is looked for. -#}
{{
    config(meta={
        'ml_config': {
            'model_type': 'arima_plus',
            'time_series_timestamp_col': 'quarter_start',
            'time_series_data_col': 'rate',
            'time_series_id_col': 'series',
            'auto_arima_max_order': 2,
            'horizon': 8,
            'seasonalities': ['NO_SEASONALITY'],
        },
    })
}}

with

quarterly as (

    select * from {{ ref('stg_macro__quarterly') }}

)

select
    series,
    quarter_start,
    rate

from quarterly
