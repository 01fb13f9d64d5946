with

-- ML.PREDICT passes every input column through, so no join back to the penguins is needed.
predicted as (

    select * from {{ ml_predict(ref('penguins_body_mass'), ref('stg_penguins__penguins')) }}

),

final as (

    select
        penguin_id,
        species,
        body_mass_g,
        predicted_body_mass_g,
        predicted_body_mass_g - body_mass_g as residual_g

    from predicted

)

select * from final
