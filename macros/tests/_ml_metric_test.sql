{#- Rows returned = failure: the metric outside its bound, missing, or no evaluation row at all
    (a vacuous pass would hide a model that was never evaluated). -#}
{% macro _ml_metric_test(model, metric, operator, value, holdout) %}
    {%- if not modules.re.match('^[A-Za-z_][A-Za-z0-9_]*$', metric | string) -%}
        {%- do exceptions.raise_compiler_error("ml metric test: '" ~ metric ~ "' is not an ML.EVALUATE column name") -%}
    {%- endif -%}
with

evaluation as (

    select * from {{ analytics_ml.ml_evaluate(model, holdout) }} as e

),

checked as (

    select {{ metric }} as metric_value from evaluation

)

select metric_value
from checked
where metric_value is null or not (metric_value {{ operator }} {{ value }})

union all

select cast(null as {{ dbt.type_float() }}) as metric_value
from (select count(*) as n from evaluation) as evaluated
where evaluated.n = 0
{%- endmacro %}
