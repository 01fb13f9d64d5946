{#- Fingerprint of everything the model reads: each upstream relation's rows. Upstream relations
    rather than the model's query, because the query is BigQuery SQL that only the engine can run
    locally; the query text itself is covered by the definition hash. Ephemeral parents are
    walked through to the relations they read. The engine that trains the model counts too, so an
    engine upgrade retrains (ml_engine_version: none on BigQuery, which trains its own models). -#}
{% macro _ml_training_data_fingerprint(node) %}
    {%- set digests = [] -%}
    {%- set engine_version = analytics_ml.ml_engine_version() if node.config.materialized == 'bqml_model' else none -%}
    {%- if engine_version -%}
        {%- do digests.append('engine=' ~ engine_version) -%}
    {%- endif -%}
    {%- for parent_id in node.depends_on.nodes | sort -%}
        {%- set parent = graph.nodes.get(parent_id) or graph.sources.get(parent_id) -%}
        {%- if parent.relation_name -%}
            {%- do digests.append(parent_id ~ '=' ~ run_query(analytics_ml.ml_relation_fingerprint_sql(parent.relation_name)).columns[0].values()[0]) -%}
        {%- else -%}
            {%- do digests.append(parent_id ~ '=' ~ analytics_ml._ml_training_data_fingerprint(parent)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(local_md5(digests | join(';'))) }}
{% endmacro %}
