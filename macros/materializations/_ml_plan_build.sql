{#- Everything a bqml_model build decides before training, shared by both targets:
    validate the config, render the DDL, fingerprint it and its data, decide whether to retrain. -#}
{% macro _ml_plan_build() %}
    {#- Under meta (dbt reserves config's top level for its own and adapters' keys), or at the top
        level as dbt_ml writes them: either place, not both. -#}
    {%- set ml_config = analytics_ml._ml_config_entry('ml_config', {}) -%}
    {%- set transform = analytics_ml._ml_config_entry('transform', none) -%}
    {%- set retrain = analytics_ml._ml_config_entry('retrain', 'auto') -%}
    {%- set keep_versions = analytics_ml._ml_config_entry('keep_versions',
        var('ml_keep_versions', analytics_ml._ml_contract().registry.keep_versions)) -%}
    {%- set remote = analytics_ml._ml_remote_clauses() -%}
    {%- do analytics_ml._ml_validate_config(ml_config, transform, retrain, keep_versions, remote) -%}
    {%- set relation = this.incorporate(type='view') -%}
    {%- set ddl = analytics_ml.ml_create_model_ddl(relation, sql, ml_config, transform, remote) -%}
    {%- set state = analytics_ml._ml_ensure_state_table() -%}
    {%- set plan = {
        'relation': relation,
        'ddl': ddl,
        'state': state,
        'model_name': analytics_ml._ml_model_name(relation),
        'definition_hash': local_md5(ddl),
        'data_fingerprint': analytics_ml._ml_training_data_fingerprint(model),
        'ml_config': ml_config,
        'transform': transform,
        'remote': remote,
        'keep_versions': keep_versions,
        'sql': sql,
    } -%}
    {%- do plan.update({'reason': analytics_ml._ml_retrain_reason(
        state, plan.model_name, plan.definition_hash, plan.data_fingerprint, retrain)}) -%}
    {#- Commit now: on DuckDB the engine trains on a cursor of its own, which must not meet
        this transaction's uncommitted catalog changes. -#}
    {%- do adapter.commit() -%}
    {{ return(plan) }}
{% endmacro %}
