{% macro _ml_record_build_state(plan, train_seconds) %}
    {% call statement('ml_record_state') -%}
        delete from {{ plan.state }} where model_name = '{{ plan.model_name }}'
    {%- endcall %}
    {% call statement('ml_record_state') -%}
        insert into {{ plan.state }} (model_name, definition_hash, data_fingerprint, trained_at, train_seconds)
        values (
            '{{ plan.model_name }}', '{{ plan.definition_hash }}', '{{ plan.data_fingerprint }}',
            {{ dbt.current_timestamp() }}, {{ train_seconds }}
        )
    {%- endcall %}
{% endmacro %}
