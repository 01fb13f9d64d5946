{#- The local engine compiled each model into DuckDB SQL templates (its model_functions table, see
    docs/engine-contract.md); filling the placeholders here keeps the whole query inside DuckDB,
    with no Python per row. Parenthesised so it sits in a FROM clause like ML.* does.
    A tree model or DNN also has a `<function>_udf` template that scores in the engine's
    vectorised Arrow UDFs (several times faster); it is used when this process has them
    (_ml_local_udfs_ready), the pure-SQL template otherwise.
    `thresholds`: ML.ROC_CURVE's list of thresholds (none: BigQuery's default percentiles). -#}
{% macro _ml_duckdb_call(function, model, input=none, threshold=none, thresholds=none) %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set contract = analytics_ml._ml_contract() -%}
    {%- set placeholders = contract.placeholders -%}
    {%- set variant = contract.udfs.variant | replace('{}', function) -%}
    {%- set query -%}
        select function, sql_template
        from {{ model.database }}.{{ contract.engine_schema }}.model_functions
        where dataset = '{{ model.schema }}'
            and model = '{{ model.identifier }}'
            and function in ('{{ function }}', '{{ variant }}')
            and has_input = {{ input is not none }}
    {%- endset -%}
    {#- Asked of the database, not dbt's relation cache: the engine creates its tables during the
        run, behind the cache's back. -#}
    {%- set found = run_query("select count(*) from information_schema.tables where table_catalog = '" ~ model.database ~ "' and table_schema = '" ~ contract.engine_schema ~ "' and table_name = 'model_functions'") -%}
    {%- set templates = {} -%}
    {%- for row in (run_query(query).rows if found.columns[0].values()[0] else []) -%}
        {%- do templates.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- if function not in templates -%}
        {%- set call = "ML." ~ function | upper ~ ("(MODEL, input)" if input is not none else "(MODEL)") -%}
        {%- do exceptions.raise_compiler_error(call ~ " of " ~ model ~ ": the local engine has no such function for it; either the model is not trained in this database yet (dbt build -s +" ~ model.identifier ~ ") or its model type has no " ~ call) -%}
    {%- endif -%}
    {%- set template = templates[function] -%}
    {%- set fast = templates.get(variant, template) -%}
    {%- if analytics_ml._ml_uses_udfs(fast) -%}
        {%- if analytics_ml._ml_local_udfs_ready(model) -%}
            {%- set template = fast -%}
        {%- elif analytics_ml._ml_uses_udfs(template) -%}
            {%- do exceptions.raise_compiler_error("ML." ~ function | upper ~ " of " ~ model ~ " runs in the local engine's Arrow UDFs, which this dbt connection does not have: enable the ml.dbt_plugin plugin in profiles.yml (and leave var ml_local_udfs true)") -%}
        {%- endif -%}
    {%- endif -%}
    {%- set roc_thresholds = 'NULL' -%}
    {%- if thresholds is not none -%}
        {%- if input is none or placeholders.roc_thresholds not in template -%}
            {%- do exceptions.raise_compiler_error("ML.ROC_CURVE thresholds of " ~ model ~ ": the local engine applies them to an input relation only, with a model trained by an engine that has them (retrain it with --full-refresh otherwise)") -%}
        {%- endif -%}
        {%- set roc_thresholds = analytics_ml._ml_thresholds_array(thresholds) -%}
    {%- endif -%}
    {%- set template = template | replace(placeholders.roc_thresholds, roc_thresholds) -%}
    {%- if input is not none -%}
        {%- set template = template | replace(placeholders.input, analytics_ml._ml_input_sql(input)) -%}
    {%- endif -%}
    {{ return('(' ~ template | replace(placeholders.threshold, (0.5 if threshold is none else threshold) | string) ~ ')') }}
{% endmacro %}
