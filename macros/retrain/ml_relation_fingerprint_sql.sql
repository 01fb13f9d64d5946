{#- A one-row, one-column query: an order-independent digest of a relation's rows, equal when the
    data is equal. The retrain policy compares it between builds. -#}
{% macro ml_relation_fingerprint_sql(relation_name) %}
    {{ return(adapter.dispatch('ml_relation_fingerprint_sql', 'analytics_ml')(relation_name)) }}
{% endmacro %}

{% macro default__ml_relation_fingerprint_sql(relation_name) %}
    {%- do exceptions.raise_compiler_error("ml_relation_fingerprint_sql: no row hash known for adapter " ~ adapter.type()) -%}
{% endmacro %}

{#- DuckDB: hash() of the whole row (a table alias is a STRUCT); the sum is order-independent. -#}
{% macro duckdb__ml_relation_fingerprint_sql(relation_name) %}
    {{ return("select count(*) || ':' || coalesce(sum(hash(t)), 0) from " ~ relation_name ~ " as t") }}
{% endmacro %}

{#- BigQuery: FARM_FINGERPRINT of the row as JSON, summed in BIGNUMERIC so it cannot overflow. -#}
{% macro bigquery__ml_relation_fingerprint_sql(relation_name) %}
    {{ return("select format('%d:%t', count(*), coalesce(sum(cast(farm_fingerprint(to_json_string(t)) as bignumeric)), 0)) from " ~ relation_name ~ " as t") }}
{% endmacro %}
