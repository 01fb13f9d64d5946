{% macro _ml_record_build_state(plan, train_seconds) %}
    {%- for sql in analytics_ml._ml_build_state_statements(plan, train_seconds) -%}
        {% call statement('ml_record_state') -%}
            {{ sql }}
        {%- endcall %}
    {%- endfor -%}
{% endmacro %}

{#- The statements that record a build's state (the bigquery target runs them inside the
    transaction that registers the version). -#}
{% macro _ml_build_state_statements(plan, train_seconds) %}
    {{ return([
        "delete from " ~ plan.state ~ " where model_name = '" ~ plan.model_name ~ "'",
        "insert into " ~ plan.state ~ " (model_name, definition_hash, data_fingerprint, trained_at, train_seconds) values ('"
            ~ plan.model_name ~ "', '" ~ plan.definition_hash ~ "', '" ~ plan.data_fingerprint ~ "', "
            ~ dbt.current_timestamp() ~ ", " ~ train_seconds ~ ")",
    ]) }}
{% endmacro %}
