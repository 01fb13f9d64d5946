{#- Why the model must be trained now, or none when its last training still stands: same
    definition (SQL, TRANSFORM, OPTIONS, name), same training data, and the model still there. -#}
{% macro _ml_retrain_reason(state, model_name, definition_hash, data_fingerprint, retrain) %}
    {%- if should_full_refresh() -%}
        {{ return('full refresh') }}
    {%- elif retrain == 'always' -%}
        {{ return('retrain: always') }}
    {%- endif -%}
    {%- set query -%}
        select definition_hash, data_fingerprint from {{ state }} where model_name = '{{ model_name }}'
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {%- if rows | length == 0 -%}
        {{ return('first build') }}
    {%- elif rows[0][0] != definition_hash -%}
        {{ return('definition changed') }}
    {%- elif rows[0][1] != data_fingerprint -%}
        {{ return('training data changed') }}
    {%- elif not analytics_ml.ml_model_exists(this) -%}
        {{ return('model missing') }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}
