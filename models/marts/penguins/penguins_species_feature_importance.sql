with

importance as (

    select * from {{ ml_feature_importance(ref('penguins_species_trees')) }}

),

explained as (

    select * from {{ ml_global_explain(ref('penguins_species_trees')) }}

),

joined as (

    select
        importance.feature,
        importance.importance_weight,
        importance.importance_gain,
        importance.importance_cover,
        explained.attribution as mean_abs_attribution

    from importance
    left join explained on importance.feature = explained.feature

)

select * from joined
