with

assigned as (

    select * from {{ ml_predict(ref('penguins_clusters'), ref('stg_penguins__penguins')) }}

),

final as (

    select
        penguin_id,
        species,
        centroid_id

    from assigned

)

select * from final
