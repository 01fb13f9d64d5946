{#- The INPUT / OUTPUT / REMOTE WITH CONNECTION clauses from a model's config (under meta or at the
    top, like ml_config): input and output (mappings field -> BigQuery type) of a remote or an
    imported XGBoost model, remote_with_connection (project.location.connection_id or DEFAULT) of a
    remote one; none when the model has none of them. -#}
{% macro _ml_remote_clauses() %}
    {%- set clauses = {
        'connection': analytics_ml._ml_config_entry('remote_with_connection', none),
        'input': analytics_ml._ml_config_entry('input', none),
        'output': analytics_ml._ml_config_entry('output', none),
    } -%}
    {%- if clauses.values() | select('none') | list | length == 3 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for clause in ['input', 'output'] if (clauses.connection is not none and clauses[clause] is none)
            or (clauses[clause] is not none and (clauses[clause] is not mapping or not clauses[clause])) -%}
        {%- do exceptions.raise_compiler_error("bqml_model '" ~ model.name ~ "': " ~ clause ~ " must be a mapping of field names to BigQuery types" ~ (" (a remote model needs one)" if clauses.connection is not none else "")) -%}
    {%- endfor -%}
    {{ return(clauses) }}
{% endmacro %}
