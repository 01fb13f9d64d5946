{#- The local engine compiled each model into DuckDB SQL templates (_ml.model_functions, see
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
    {%- set query -%}
        select function, sql_template
        from {{ model.database }}._ml.model_functions
        where dataset = '{{ model.schema }}'
            and model = '{{ model.identifier }}'
            and function in ('{{ function }}', '{{ function }}_udf')
            and has_input = {{ input is not none }}
    {%- endset -%}
    {%- set catalog = adapter.get_relation(database=model.database, schema='_ml', identifier='model_functions') -%}
    {%- set templates = {} -%}
    {%- for row in (run_query(query).rows if catalog is not none else []) -%}
        {%- do templates.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- if function not in templates -%}
        {%- set call = "ML." ~ function | upper ~ ("(MODEL, input)" if input is not none else "(MODEL)") -%}
        {%- do exceptions.raise_compiler_error(call ~ " of " ~ model ~ ": the local engine has no such function for it; either the model is not trained in this database yet (dbt build -s +" ~ model.identifier ~ ") or its model type has no " ~ call) -%}
    {%- endif -%}
    {%- set template = templates[function] -%}
    {%- set fast = templates.get(function ~ '_udf', template) -%}
    {%- if analytics_ml._ml_uses_udfs(fast) -%}
        {%- if analytics_ml._ml_local_udfs_ready(model) -%}
            {%- set template = fast -%}
        {%- elif analytics_ml._ml_uses_udfs(template) -%}
            {%- do exceptions.raise_compiler_error("ML." ~ function | upper ~ " of " ~ model ~ " runs in the local engine's Arrow UDFs, which this dbt connection does not have: enable the ml.dbt_plugin plugin in profiles.yml (and leave var ml_local_udfs true)") -%}
        {%- endif -%}
    {%- endif -%}
    {%- set roc_thresholds = 'NULL' -%}
    {%- if thresholds is not none -%}
        {%- if input is none or '__ML_ROC_THRESHOLDS__' not in template -%}
            {%- do exceptions.raise_compiler_error("ML.ROC_CURVE thresholds of " ~ model ~ ": the local engine applies them to an input relation only, with a model trained by an engine that has them (retrain it with --full-refresh otherwise)") -%}
        {%- endif -%}
        {%- set roc_thresholds = analytics_ml._ml_thresholds_array(thresholds) -%}
    {%- endif -%}
    {%- set template = template | replace('__ML_ROC_THRESHOLDS__', roc_thresholds) -%}
    {%- if input is not none -%}
        {%- set template = template | replace('__ML_INPUT__', analytics_ml._ml_input_sql(input)) -%}
    {%- endif -%}
    {{ return('(' ~ template | replace('__ML_THRESHOLD__', (0.5 if threshold is none else threshold) | string) ~ ')') }}
{% endmacro %}
