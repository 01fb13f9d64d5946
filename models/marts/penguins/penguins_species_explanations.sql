with

explained as (

    select * from {{ ml_explain_predict(
        ref('penguins_species_trees'), ref('stg_penguins__penguins'), top_k_features=6
    ) }}

),

final as (

    select
        penguin_id,
        species,
        predicted_species,
        probability,
        top_feature_attributions,
        baseline_prediction_value,
        prediction_value,
        approximation_error

    from explained

)

select * from final
