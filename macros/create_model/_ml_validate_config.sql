{#- Fails the current model (only it: dbt skips its children, other nodes still build) when its
    BigQuery ML config cannot work, with the model and the option in the message. -#}
{% macro _ml_validate_config(ml_config, transform, retrain) %}
    {%- set catalog = analytics_ml._ml_model_catalog() -%}
    {%- set where = "bqml_model '" ~ model.name ~ "'" -%}
    {%- if ml_config is not mapping -%}
        {%- do exceptions.raise_compiler_error(where ~ ": meta.ml_config must be a mapping of BigQuery ML options") -%}
    {%- endif -%}
    {#- Options written beside ml_config instead of inside it would be silently ignored
        (kms_key_name is also dbt-bigquery's own table config, so it may sit at the top level). -#}
    {%- for name in catalog.options if config.meta_get(name) is not none
            or (name != 'kms_key_name' and config.get(name) is not none) -%}
        {%- do exceptions.raise_compiler_error(where ~ ": option '" ~ name ~ "' belongs inside meta.ml_config") -%}
    {%- endfor -%}
    {%- for name in ml_config if name | lower not in catalog.options -%}
        {%- do exceptions.raise_compiler_error(where ~ ": unknown BigQuery ML option '" ~ name ~ "' in meta.ml_config") -%}
    {%- endfor -%}
    {%- set options = analytics_ml._ml_lowercase_keys(ml_config) -%}
    {%- set model_type = options.get('model_type', '') | string | lower -%}
    {%- if model_type not in catalog.supervised + catalog.unsupervised -%}
        {%- do exceptions.raise_compiler_error(where ~ ": option 'model_type' is missing or unknown: '" ~ options.get('model_type', '') ~ "'") -%}
    {%- endif -%}
    {#- BigQuery would default to a column named `label`; an explicit label keeps lineage readable. -#}
    {%- if model_type in catalog.supervised and not options.get('input_label_cols') -%}
        {%- do exceptions.raise_compiler_error(where ~ ": option 'input_label_cols' is required for model_type '" ~ model_type ~ "'") -%}
    {%- endif -%}
    {%- if transform is not none and transform is not string and (transform is mapping or transform | length == 0) -%}
        {%- do exceptions.raise_compiler_error(where ~ ": meta.transform must be a SQL select list or a non-empty list of expressions") -%}
    {%- endif -%}
    {%- if retrain not in ['auto', 'always'] -%}
        {%- do exceptions.raise_compiler_error(where ~ ": meta.retrain must be 'auto' or 'always', not '" ~ retrain ~ "'") -%}
    {%- endif -%}
{% endmacro %}
