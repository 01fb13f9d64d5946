{#- No training query: BigQuery imports the CNN's exported graph (training/export.py) from
    MODEL_PATH. Locally the pre-hook trains the CNN first when build/models/digits lacks it. -#}
{{
    config(
        pre_hook="{{ analytics_ml.start_digits_model_server() }}",
        meta={
            'ml_config': {
                'model_type': 'onnx',
                'model_path': analytics_ml.digits_cnn_onnx_path(),
            },
        },
    )
}}
