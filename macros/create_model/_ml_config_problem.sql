{#- What is wrong with an ml_config's options (none when nothing is), in the local engine's own
    words (the generated contract holds its messages): a missing or unknown model_type, an option
    its model type does not take. Options the engine lacks but BigQuery ML takes pass, so they
    work on the bigquery target; the engine refuses them when it trains. -#}
{% macro _ml_config_problem(ml_config, remote=none) %}
    {%- set contract = analytics_ml._ml_contract() -%}
    {%- set options = analytics_ml._ml_lowercase_keys(ml_config) -%}
    {#- BigQuery's remote models name no model_type; the engine knows them by its own. -#}
    {%- if remote and remote.connection is not none and 'model_type' not in options -%}
        {%- set options = dict(options, model_type=contract.remote_model_type) -%}
    {%- endif -%}
    {%- if 'model_type' not in options -%}
        {{ return(contract.messages.missing_model_type) }}
    {%- endif -%}
    {%- set model_type = options.model_type | string | lower -%}
    {%- if model_type not in contract.model_types -%}
        {{ return(contract.messages.invalid_model_type | replace('{value}', options.model_type)) }}
    {%- endif -%}
    {%- set known = contract.model_types[model_type] -%}
    {%- set accepted = (known.options if known.local else contract.options) + contract.bigquery_only_options -%}
    {%- for name in options if name not in accepted -%}
        {{ return(contract.messages.unknown_option | replace('{name}', name) | replace('{model_type}', model_type | upper)) }}
    {%- endfor -%}
    {#- BigQuery would default to a column named `label`; an explicit label keeps lineage readable. -#}
    {%- if known.supervised and not options.get('input_label_cols') -%}
        {{ return("option 'input_label_cols' is required for model_type '" ~ model_type ~ "'") }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}
