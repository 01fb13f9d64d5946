{#- The model an ml_* call runs: with alias= / version= the registry version it pins
    (`name__v<N>`, its own BigQuery ML / engine model), looked up in the ml_registry tables that
    `python -m ml` and the bqml_model materialization keep (see ml/registry). Without a pin, on
    DuckDB the unversioned name itself serves the champion (or the newest version), so nothing is
    looked up; BigQuery ML cannot copy or alias a model, so on BigQuery the champion (or the
    newest version) is resolved here too, when the call compiles. Set var ml_registry_lookup to
    false to compile without any registry query (offline rendering): unpinned calls then name the
    plain model, and pinned ones are an error. -#}
{% macro _ml_pinned_model(model, alias=none, version=none) %}
    {%- if not execute -%}
        {{ return(model) }}
    {%- endif -%}
    {%- if alias is none and version is none -%}
        {{ return(analytics_ml._ml_serving_model(model)) }}
    {%- endif -%}
    {%- if alias is not none and version is not none -%}
        {%- do exceptions.raise_compiler_error("ml_* call on " ~ model ~ ": pin by alias= or by version=, not both") -%}
    {%- endif -%}
    {%- set name = model.schema ~ '.' ~ model.identifier -%}
    {%- if not modules.re.match('^[A-Za-z0-9_]+[.][A-Za-z0-9_]+$', name) -%}
        {%- do exceptions.raise_compiler_error("ml_* call: " ~ name ~ " is not a dataset.model name") -%}
    {%- endif -%}
    {%- if not var('ml_registry_lookup', true) -%}
        {%- do exceptions.raise_compiler_error("ml_* call on " ~ name ~ ": alias= / version= need the registry, and var ml_registry_lookup is false") -%}
    {%- endif -%}
    {%- set registry = analytics_ml._ml_registry_relation(model.database, 'model_versions') -%}
    {%- if version is not none -%}
        {%- if not (version is number and version == version | int and version > 0) -%}
            {%- do exceptions.raise_compiler_error("ml_* call on " ~ name ~ ": version must be a positive integer, got " ~ version) -%}
        {%- endif -%}
        {%- set pinned = 'version = ' ~ version | int -%}
        {%- set found_in = registry -%}
    {%- else -%}
        {%- if not modules.re.match(analytics_ml._ml_contract().registry.alias_pattern, alias | string) -%}
            {%- do exceptions.raise_compiler_error("ml_* call on " ~ name ~ ": invalid alias '" ~ alias ~ "'") -%}
        {%- endif -%}
        {%- set pinned = "alias = '" ~ alias ~ "'" -%}
        {%- set found_in = analytics_ml._ml_registry_relation(model.database, 'model_aliases') -%}
    {%- endif -%}
    {%- set rows = run_query("select version from " ~ found_in ~ " where model = '" ~ name ~ "' and " ~ pinned).rows -%}
    {%- if rows | length == 0 -%}
        {%- set what = ("version " ~ version) if version is not none else ("alias '" ~ alias ~ "'") -%}
        {%- do exceptions.raise_compiler_error("Not found: " ~ what ~ " of model " ~ name ~ " in the registry (python -m ml versions " ~ name ~ ")") -%}
    {%- endif -%}
    {{ return(model.incorporate(path={'identifier': model.identifier ~ '__v' ~ rows[0][0]})) }}
{% endmacro %}

{#- What an unpinned call runs: the unversioned name where it serves (DuckDB), else the version
    the registry serves (the champion, or the newest). The plain name is kept only when the
    registry has no row for the model (or no registry dataset yet): a model trained before the
    registry, or by hand. -#}
{% macro _ml_serving_model(model) %}
    {%- if target.type != 'bigquery' or not var('ml_registry_lookup', true) -%}
        {{ return(model) }}
    {%- endif -%}
    {%- if adapter.get_relation(database=model.database, schema=analytics_ml._ml_contract().registry.schema, identifier='model_aliases') is none -%}
        {{ return(model) }}
    {%- endif -%}
    {%- set version = run_query(analytics_ml._ml_serving_version_sql(model)).columns[0].values()[0] -%}
    {%- if version is none -%}
        {{ return(model) }}
    {%- endif -%}
    {{ return(analytics_ml._ml_version_relation(model, version | int)) }}
{% endmacro %}
