{#- BigQuery runs the DDL as a query job; BigQuery itself trains and stores the model.
    Training goes through the model registry as `python -m ml train --target bigquery` does
    (ml/registry, mirrored in macros/registry): each build that trains creates the next immutable
    version `name__v<N>` (N from ml_registry.model_versions), then registers it, sets it
    challenger and records the build state in one multi-statement transaction. The plain name is
    a copy of the champion (or the newest version), so ml_* calls without alias= / version=
    compile to it with no query. -#}
{% materialization bqml_model, adapter='bigquery' %}
    {{ return(analytics_ml._ml_build_on_bigquery()) }}
{% endmaterialization %}

{#- dbt_ml's spelling of the same materialization. -#}
{% materialization model, adapter='bigquery' %}
    {{ return(analytics_ml._ml_build_on_bigquery()) }}
{% endmaterialization %}
