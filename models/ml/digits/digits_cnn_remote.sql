{#- No training query and no function to deploy: a remote model over the endpoint serving the CNN
    (Vertex AI on BigQuery, the local model server on DuckDB), sending each row's `image`. -#}
{{
    config(
        remote_with_connection=var('bigquery_connection', env_var('BIGQUERY_CONNECTION', 'DEFAULT')),
        input={'image': 'STRING'},
        output={'label': 'STRING', 'scores': 'ARRAY<FLOAT64>'},
        meta={'ml_config': {'endpoint': analytics_ml.digits_cnn_endpoint()}},
    )
}}
