{#- A small PyTorch network (two hidden layers) classifying species; locally its prediction is
    compiled to DuckDB SQL, on BigQuery it is BigQuery ML's own DNN. -#}
{{
    config(meta={
        'ml_config': {
            'model_type': 'dnn_classifier',
            'input_label_cols': ['species'],
            'hidden_units': [16, 8],
            'optimizer': 'adam',
            'learn_rate': 0.05,
            'max_iterations': 30,
            'early_stop': false,
        },
    })
}}

with

penguins as (

    select * from {{ ref('stg_penguins__penguins') }}

),

measured as (

    select
        species,
        island,
        sex,
        bill_length_mm,
        bill_depth_mm,
        flipper_length_mm,
        body_mass_g

    from penguins

)

select * from measured
