{#- The model an ml_* call runs. Without a pin: the plain name, which on both targets is a model
    serving the champion (or the newest version): the registry copies that version to it. With
    version=N: the version's own model `name__v<N>`, with no query on BigQuery (compiling needs no
    Google call; a version that does not exist fails when the query runs) and checked against the
    local registry on DuckDB. With alias=: the version the registry's alias names, looked up when
    the call compiles (var ml_registry_lookup false refuses it: offline rendering). -#}
{% macro _ml_pinned_model(model, alias=none, version=none) %}
    {%- if alias is not none and version is not none -%}
        {%- do exceptions.raise_compiler_error("ml_* call on " ~ model ~ ": pin by alias= or by version=, not both") -%}
    {%- endif -%}
    {%- if alias is none and version is none -%}
        {{ return(model) }}
    {%- endif -%}
    {%- set name = model.schema ~ '.' ~ model.identifier -%}
    {%- if not modules.re.match('^[A-Za-z0-9_]+[.][A-Za-z0-9_]+$', name) -%}
        {%- do exceptions.raise_compiler_error("ml_* call: " ~ name ~ " is not a dataset.model name") -%}
    {%- endif -%}
    {%- if version is not none -%}
        {%- if not (version is number and version == version | int and version > 0) -%}
            {%- do exceptions.raise_compiler_error("ml_* call on " ~ name ~ ": version must be a positive integer, got " ~ version) -%}
        {%- endif -%}
        {%- if target.type == 'bigquery' or not execute -%}
            {{ return(analytics_ml._ml_version_relation(model, version | int)) }}
        {%- endif -%}
        {%- set pinned, found_in = 'version = ' ~ version | int, analytics_ml._ml_registry_relation(model.database, 'model_versions') -%}
    {%- else -%}
        {%- if not modules.re.match(analytics_ml._ml_contract().registry.alias_pattern, alias | string) -%}
            {%- do exceptions.raise_compiler_error("ml_* call on " ~ name ~ ": invalid alias '" ~ alias ~ "'") -%}
        {%- endif -%}
        {%- if not execute -%}
            {{ return(model) }}
        {%- endif -%}
        {%- if not var('ml_registry_lookup', true) -%}
            {%- do exceptions.raise_compiler_error("ml_* call on " ~ name ~ ": alias= needs the registry, and var ml_registry_lookup is false") -%}
        {%- endif -%}
        {%- set pinned, found_in = "alias = '" ~ alias ~ "'", analytics_ml._ml_registry_relation(model.database, 'model_aliases') -%}
    {%- endif -%}
    {%- set rows = run_query("select version from " ~ found_in ~ " where model = '" ~ name ~ "' and " ~ pinned).rows -%}
    {%- if rows | length == 0 -%}
        {%- set what = ("version " ~ version) if version is not none else ("alias '" ~ alias ~ "'") -%}
        {%- do exceptions.raise_compiler_error("Not found: " ~ what ~ " of model " ~ name ~ " in the registry (python -m ml versions " ~ name ~ ")") -%}
    {%- endif -%}
    {{ return(analytics_ml._ml_version_relation(model, rows[0][0] | int)) }}
{% endmacro %}
