{#- Fingerprint of everything the model reads, one digest per upstream node: the retrain policy
    compares it between builds. Upstream nodes rather than the model's query, because the query is
    BigQuery SQL that only the engine can run locally; the query text itself is covered by the
    definition hash. The engine that trains the model counts too, so an engine upgrade retrains
    (ml_engine_version: none on BigQuery, which trains its own models). -#}
{% macro _ml_training_data_fingerprint(node) %}
    {%- set digests = [] -%}
    {%- set engine_version = analytics_ml.ml_engine_version() if node.config.materialized in ['bqml_model', 'model'] else none -%}
    {%- if engine_version -%}
        {%- do digests.append('engine=' ~ engine_version) -%}
    {%- endif -%}
    {%- for parent_id in node.depends_on.nodes | sort -%}
        {%- set parent = graph.nodes.get(parent_id) or graph.sources.get(parent_id) -%}
        {%- do digests.append(parent_id ~ '=' ~ adapter.dispatch('_ml_parent_fingerprint', 'analytics_ml')(parent)) -%}
    {%- endfor -%}
    {{ return(local_md5(digests | join(';'))) }}
{% endmacro %}

{#- DuckDB, where reading is free: the parent's rows (ml_relation_fingerprint_sql), or for an
    ephemeral parent, what it reads. -#}
{% macro default___ml_parent_fingerprint(parent) %}
    {%- if not parent.relation_name -%}
        {{ return(analytics_ml._ml_training_data_fingerprint(parent)) }}
    {%- endif -%}
    {{ return(run_query(analytics_ml.ml_relation_fingerprint_sql(parent.relation_name)).columns[0].values()[0]) }}
{% endmacro %}

{#- BigQuery, where reading bills the bytes read: nothing is scanned. A seed is its CSV file's
    checksum; a view, table or ephemeral model is its SQL file's checksum and, through the graph,
    what it reads (a view's own metadata changes whenever dbt re-creates it, its data does not); a
    source, incremental model or snapshot, whose rows only BigQuery knows, is its row count and
    last-modified time from the dataset's __TABLES__ metadata (0 bytes billed). -#}
{% macro bigquery___ml_parent_fingerprint(parent) %}
    {%- if parent.resource_type == 'seed' -%}
        {{ return('seed:' ~ parent.checksum.checksum) }}
    {%- endif -%}
    {%- if parent.resource_type == 'model' and parent.config.materialized in ['view', 'table', 'ephemeral'] -%}
        {{ return('sql:' ~ parent.checksum.checksum ~ ';' ~ analytics_ml._ml_training_data_fingerprint(parent)) }}
    {%- endif -%}
    {{ return(run_query(analytics_ml._ml_table_metadata_sql(parent)).columns[0].values()[0] or 'missing') }}
{% endmacro %}

{#- One row: `<row count>:<last modified, ms since epoch>` of one table, from the legacy
    `dataset.__TABLES__` meta-table, which BigQuery answers from metadata without billing bytes. -#}
{% macro _ml_table_metadata_sql(parent) %}
    {%- set identifier = parent.alias or parent.identifier or parent.name -%}
    {%- if not modules.re.match('^[A-Za-z0-9_-]+$', identifier | string) -%}
        {%- do exceptions.raise_compiler_error("retrain check: table name '" ~ identifier ~ "' of " ~ parent.unique_id ~ " is not a plain BigQuery table name") -%}
    {%- endif -%}
    {%- set meta = api.Relation.create(database=parent.database, schema=parent.schema, identifier='__TABLES__') -%}
    {{ return("select format('%d:%d', row_count, last_modified_time) from " ~ meta ~ " where table_id = '" ~ identifier ~ "'") }}
{% endmacro %}
