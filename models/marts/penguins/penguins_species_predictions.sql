with

predicted as (

    select * from {{ ml_predict(ref('penguins_species_dnn'), ref('stg_penguins__penguins')) }}

),

final as (

    select
        penguin_id,
        species,
        predicted_species,
        predicted_species_probs,
        predicted_species = species as is_correct

    from predicted

)

select * from final
