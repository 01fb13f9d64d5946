{#- The book's Spark preprocessing as a BigQuery ML TRANSFORM: it is stored with the model and
    re-applied by ML.PREDICT / ML.EVALUATE, so callers pass raw passengers. Numeric features are
    standardized by BigQuery ML itself. One passenger in five (by id) is the eval split, the
    same rows on both targets. -#}
{{
    config(meta={
        'transform': [
            "ML.IMPUTER(age, 'median') OVER () AS age",
            "ML.IMPUTER(fare, 'median') OVER () AS fare",
            "siblings_spouses + parents_children + 1 AS family_size",
            "siblings_spouses + parents_children = 0 AS is_alone",
            "siblings_spouses",
            "parents_children",
            "ML.ONE_HOT_ENCODER(CAST(passenger_class AS STRING)) OVER () AS passenger_class",
            "ML.ONE_HOT_ENCODER(sex) OVER () AS sex",
            "ML.ONE_HOT_ENCODER(embarked_port) OVER () AS embarked_port",
            "survived",
            "is_holdout",
        ],
        'ml_config': {
            'model_type': 'logistic_reg',
            'input_label_cols': ['survived'],
            'data_split_method': 'custom',
            'data_split_col': 'is_holdout',
            'max_iterations': 50,
        },
    })
}}

with

passengers as (

    select * from {{ ref('stg_titanic__passengers') }}

),

features as (

    select
        passenger_class,
        sex,
        age,
        siblings_spouses,
        parents_children,
        fare,
        embarked_port,
        survived,
        mod(passenger_id, 5) = 0 as is_holdout

    from passengers

)

select * from features
