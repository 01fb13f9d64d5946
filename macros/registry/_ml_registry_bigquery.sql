{#- The model registry (ml/registry) as the bigquery target's dbt build keeps it.

    dbt's Jinja cannot import Python and dbt-bigquery runs no local Python: the registry's tables
    and name patterns come from the generated contract (_ml_contract, ml/dbt_contract.py), and
    its DDL is mirrored here from ml/registry (ddl.py: version_name / versioned_ddl; bigquery.py:
    vertex_options); tests/registry/test_registry_dbt_bigquery.py renders both and fails when
    they drift apart. -#}

{#- ml/registry/schema.py's tables with their BigQuery types, from the generated contract. -#}
{% macro _ml_registry_tables() %}
    {{ return(analytics_ml._ml_contract().registry.tables) }}
{% endmacro %}

{% macro _ml_registry_relation(database, table) %}
    {{ return(api.Relation.create(database=database, schema=analytics_ml._ml_contract().registry.schema, identifier=table, type='table')) }}
{% endmacro %}

{#- schema.create_statements("bigquery", ...) without its CREATE SCHEMA: the dataset is made by
    adapter.create_schema, in the location the profile names. -#}
{% macro _ml_registry_table_statements(database) %}
    {%- set statements = [] -%}
    {%- for table, spec in analytics_ml._ml_registry_tables().items() -%}
        {%- set body = [] -%}
        {%- for column, type in spec -%}
            {%- do body.append(column ~ ' ' ~ type) -%}
        {%- endfor -%}
        {%- do statements.append('CREATE TABLE IF NOT EXISTS ' ~ analytics_ml._ml_registry_relation(database, table) ~ ' (' ~ body | join(', ') ~ ')') -%}
    {%- endfor -%}
    {{ return(statements) }}
{% endmacro %}

{#- bigquery.bigquery_literal: a STRING literal on one line (the stored DDL has newlines). -#}
{% macro _ml_registry_literal(value) %}
    {{ return("'" ~ value | string | replace('\\', '\\\\') | replace("'", "\\'") | replace('\n', '\\n') ~ "'") }}
{% endmacro %}

{#- The `dataset.name` a model is registered under (ModelName's str). -#}
{% macro _ml_registry_model_name(relation) %}
    {%- set name = relation.schema ~ '.' ~ relation.identifier -%}
    {%- if not modules.re.match('^[A-Za-z0-9_]+[.][A-Za-z0-9_]+$', name) -%}
        {%- do exceptions.raise_compiler_error("ml registry: " ~ name ~ " is not a dataset.model name") -%}
    {%- endif -%}
    {{ return(name) }}
{% endmacro %}

{#- ddl.version_name: version N of `dataset.name` is the model `dataset.name__v<N>`. -#}
{% macro _ml_version_relation(relation, version) %}
    {{ return(relation.incorporate(path={'identifier': relation.identifier ~ '__v' ~ version})) }}
{% endmacro %}

{#- The next version number: one past every registered version (0 outside `execute`, when nothing
    is built). Unlike `python -m ml train`, dbt-bigquery cannot list models, so a `name__v<N>` left
    unregistered by a crash is not stepped over: its CREATE MODEL (never OR REPLACE) fails instead. -#}
{% macro _ml_next_version(relation) %}
    {%- if not execute -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set query -%}
        select coalesce(max(version), 0) + 1 from {{ analytics_ml._ml_registry_relation(relation.database, 'model_versions') }}
        where model = '{{ analytics_ml._ml_registry_model_name(relation) }}'
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] | int) }}
{% endmacro %}

{#- The version the unversioned name serves (Registry.resolve without a pin): the champion, or the
    newest version trained in the warehouse (status not 'external') while there is none; NULL when
    the registry has no such row for the model. -#}
{% macro _ml_serving_version_sql(relation) %}
    {%- set model = analytics_ml._ml_registry_model_name(relation) -%}
    {{ return("select coalesce((select max(version) from " ~ analytics_ml._ml_registry_relation(relation.database, 'model_aliases')
        ~ " where model = '" ~ model ~ "' and alias = 'champion'), (select max(version) from "
        ~ analytics_ml._ml_registry_relation(relation.database, 'model_versions') ~ " where model = '" ~ model
        ~ "' and status != 'external'))") }}
{% endmacro %}

{#- bigquery.serving_label_sql: after a version is copied over the unversioned model, the label
    that records which version it is a copy of (`python -m ml versions` compares it with the
    registry). -#}
{% macro _ml_serving_label_sql(relation, version) %}
    {{ return('ALTER MODEL ' ~ analytics_ml._ml_model_name(relation) ~ " SET OPTIONS (labels = [('"
        ~ analytics_ml._ml_contract().registry.serving_label ~ "', '" ~ version | int ~ "')])") }}
{% endmacro %}

{#- Serve `version` at the unversioned name, as BigQueryBackend does once the registry committed:
    a copy job (dbt-bigquery's copy_table; 'table' is WRITE_TRUNCATE, creating the model the
    first time), then the label. -#}
{% macro _ml_bigquery_serve(relation, version) %}
    {%- do adapter.copy_table(analytics_ml._ml_version_relation(relation, version), relation, 'table') -%}
    {% call statement('ml_serving_label') -%}
        {{ analytics_ml._ml_serving_label_sql(relation, version) }}
    {%- endcall %}
{% endmacro %}

{#- registry.versions_to_retire as one query: versions trained in the warehouse and not retired,
    older than the newest `keep_versions`, that no alias names. -#}
{% macro _ml_retired_versions_sql(relation, keep_versions) %}
    {%- set model = analytics_ml._ml_registry_literal(analytics_ml._ml_registry_model_name(relation)) -%}
    {%- set registry = analytics_ml._ml_contract().registry -%}
    {{ return("select version from (select version, row_number() over (order by version desc) as newest from "
        ~ analytics_ml._ml_registry_relation(relation.database, 'model_versions') ~ " where model = " ~ model
        ~ " and status not in ('" ~ registry.external ~ "', '" ~ registry.retired ~ "')) as ranked where newest > "
        ~ keep_versions | int ~ " and version not in (select version from "
        ~ analytics_ml._ml_registry_relation(relation.database, 'model_aliases') ~ " where model = " ~ model
        ~ ") order by version") }}
{% endmacro %}

{#- Registry._retire: the versions' rows marked retired first, then their models dropped (a crash
    in between leaves a retired version with a model, which `python -m ml versions` reports). -#}
{% macro _ml_retire_statements(relation, versions) %}
    {%- if versions | length == 0 -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set statements = ['update ' ~ analytics_ml._ml_registry_relation(relation.database, 'model_versions')
        ~ " set status = '" ~ analytics_ml._ml_contract().registry.retired ~ "' where model = "
        ~ analytics_ml._ml_registry_literal(analytics_ml._ml_registry_model_name(relation))
        ~ ' and version in (' ~ versions | map('int') | join(', ') ~ ')'] -%}
    {%- for version in versions -%}
        {%- do statements.append('DROP MODEL IF EXISTS ' ~ analytics_ml._ml_model_name(analytics_ml._ml_version_relation(relation, version | int))) -%}
    {%- endfor -%}
    {{ return(statements) }}
{% endmacro %}

{#- The OPTIONS a version is created with: the config's, and when it registers in the Vertex AI
    Model Registry (model_registry = 'vertex_ai'), bigquery.vertex_options' defaults: every
    version under one Vertex model (vertex_ai_model_id `<dataset>_<name>` unless configured) with
    the version alias v<N> added to the configured ones. -#}
{% macro _ml_version_options(relation, version, ml_config) %}
    {%- set options = analytics_ml._ml_lowercase_keys(ml_config) -%}
    {%- if (options.get('model_registry') or '') | lower != 'vertex_ai' -%}
        {{ return(options) }}
    {%- endif -%}
    {%- set model_id = (relation.schema ~ '_' ~ relation.identifier) | lower -%}
    {%- if 'vertex_ai_model_id' not in options and not modules.re.match(analytics_ml._ml_contract().registry.vertex_model_id_pattern, model_id) -%}
        {%- do exceptions.raise_compiler_error("bqml_model '" ~ relation.identifier ~ "': " ~ model_id ~ " is not a valid Vertex AI model ID: set vertex_ai_model_id") -%}
    {%- endif -%}
    {%- set aliases = options.get('vertex_ai_model_version_aliases') or [] -%}
    {%- set aliases = ([aliases] if aliases is string else aliases | list) -%}
    {%- set versioned = options.copy() -%}
    {%- do versioned.update({
        'vertex_ai_model_id': options.get('vertex_ai_model_id', model_id),
        'vertex_ai_model_version_aliases': aliases + ([] if ('v' ~ version) in aliases else ['v' ~ version]),
    }) -%}
    {{ return(versioned) }}
{% endmacro %}

{#- One registry version from a bqml_model build plan (_ml_plan_build), as ddl.versioned_ddl
    renders it: CREATE MODEL `name__v<N>` (no OR REPLACE: a version is never overwritten) with the
    version's OPTIONS, and the script that registers it. CREATE MODEL cannot run inside a BigQuery
    transaction, so it runs first; the script then reads the version's ML.EVALUATE without input
    (Registry._training_metrics: '{}' where the model type has none), and the version row, the
    challenger alias and the build state commit as one multi-statement transaction (as
    Registry.train does through BigQueryBackend). -#}
{% macro _ml_bigquery_version_statements(plan, version, triggered_by, train_seconds) %}
    {%- set target = analytics_ml._ml_version_relation(plan.relation, version) -%}
    {%- set options = analytics_ml._ml_version_options(plan.relation, version, plan.ml_config) -%}
    {%- set rendered = analytics_ml.ml_create_model_ddl(target, plan.sql, options, plan.transform, plan.remote) -%}
    {%- set head = 'CREATE OR REPLACE MODEL ' -%}
    {%- if not rendered.startswith(head) -%}
        {%- do exceptions.raise_compiler_error("bqml_model: unexpected DDL head " ~ rendered[:40]) -%}
    {%- endif -%}
    {%- set model = analytics_ml._ml_registry_model_name(plan.relation) -%}
    {%- set versions = analytics_ml._ml_registry_relation(plan.relation.database, 'model_versions') -%}
    {%- set aliases = analytics_ml._ml_registry_relation(plan.relation.database, 'model_aliases') -%}
    {%- set q = analytics_ml._ml_registry_literal -%}
    {%- set script = [
        "DECLARE version_metrics STRING DEFAULT '{}'",
        'BEGIN\n  SET version_metrics = COALESCE((SELECT TO_JSON_STRING(t) FROM ML.EVALUATE(MODEL '
            ~ analytics_ml._ml_model_name(target) ~ ") AS t LIMIT 1), '{}');\nEXCEPTION WHEN ERROR THEN\n  SET version_metrics = '{}';\nEND",
        'BEGIN TRANSACTION',
        'INSERT INTO ' ~ versions ~ ' (model, version, created_at, ddl, options, data_fingerprint, eval_metrics, triggered_by, status) '
            ~ 'SELECT ' ~ q(model) ~ ', ' ~ version ~ ', CURRENT_TIMESTAMP(), ' ~ q(plan.ddl) ~ ', '
            ~ q(tojson(analytics_ml._ml_lowercase_keys(plan.ml_config), sort_keys=true)) ~ ', ' ~ q(plan.data_fingerprint)
            ~ ", version_metrics, " ~ q(triggered_by) ~ ", 'ready' FROM (SELECT 1) AS one WHERE NOT EXISTS (SELECT 1 FROM " ~ versions
            ~ ' WHERE model = ' ~ q(model) ~ ' AND version = ' ~ version ~ ')',
        'SELECT IF(@@row_count = 1, TRUE, ERROR(' ~ q('Version ' ~ version ~ ' of ' ~ model ~ ' was registered by another build: nothing changed, retry') ~ '))',
        'DELETE FROM ' ~ aliases ~ ' WHERE model = ' ~ q(model) ~ " AND alias = 'challenger'",
        'INSERT INTO ' ~ aliases ~ ' (model, alias, version, updated_at) VALUES (' ~ q(model) ~ ", 'challenger', " ~ version ~ ', CURRENT_TIMESTAMP())',
    ] + analytics_ml._ml_build_state_statements(plan, train_seconds) + ['COMMIT TRANSACTION'] -%}
    {{ return({
        'create_model': 'CREATE MODEL ' ~ rendered[head | length:],
        'register': script | join(';\n') ~ ';',
    }) }}
{% endmacro %}
