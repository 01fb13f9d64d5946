{#- Fails the current model (only it: dbt skips its children, other nodes still build) when its
    BigQuery ML config cannot work, with the model and the option in the message. -#}
{% macro _ml_validate_config(ml_config, transform, retrain, keep_versions, remote=none) %}
    {%- set where = "bqml_model '" ~ model.name ~ "'" -%}
    {%- if ml_config is not mapping -%}
        {%- do exceptions.raise_compiler_error(where ~ ": ml_config must be a mapping of BigQuery ML options") -%}
    {%- endif -%}
    {#- Options written beside ml_config instead of inside it would be silently ignored
        (kms_key_name is also dbt-bigquery's own table config, so it may sit at the top level). -#}
    {%- for name in analytics_ml._ml_contract().options if config.meta_get(name) is not none
            or (name != 'kms_key_name' and config.get(name) is not none) -%}
        {%- do exceptions.raise_compiler_error(where ~ ": option '" ~ name ~ "' belongs inside ml_config") -%}
    {%- endfor -%}
    {%- set problem = analytics_ml._ml_config_problem(ml_config, remote) -%}
    {%- if problem -%}
        {%- do exceptions.raise_compiler_error(where ~ ": " ~ problem) -%}
    {%- endif -%}
    {%- if transform is not none and transform is not string and (transform is mapping or transform | length == 0) -%}
        {%- do exceptions.raise_compiler_error(where ~ ": transform must be a SQL select list or a non-empty list of expressions") -%}
    {%- endif -%}
    {%- if retrain not in ['auto', 'always'] -%}
        {%- do exceptions.raise_compiler_error(where ~ ": retrain must be 'auto' or 'always', not '" ~ retrain ~ "'") -%}
    {%- endif -%}
    {%- if not (keep_versions is number and keep_versions == keep_versions | int and keep_versions >= 1) -%}
        {%- do exceptions.raise_compiler_error(where ~ ": keep_versions must be a positive integer (the newest versions kept), not '" ~ keep_versions ~ "'") -%}
    {%- endif -%}
{% endmacro %}
