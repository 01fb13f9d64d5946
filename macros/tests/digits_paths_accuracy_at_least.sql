{#- Fails with one row per path of the digits CNN whose accuracy on `model`'s rows is below
    `value`. -#}
{% test digits_paths_accuracy_at_least(model, value) %}

with

accuracy as (

    {% for path in ['remote_function', 'remote_model', 'onnx'] %}
    select
        '{{ path }}' as path,
        avg(case when {{ path }}_label = label then 1.0 else 0.0 end) as accuracy
    from {{ model }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from accuracy
where accuracy < {{ value }}

{% endtest %}
