{#-
  The digits CNN as a BigQuery ML model two ways (models/ml/digits): where each finds the network.
  BigQuery: var digits_onnx_uri (gs://…/model.onnx) and var digits_vertex_endpoint
  (https://LOCATION-aiplatform.googleapis.com/v1/projects/P/locations/L/endpoints/E), or env
  DIGITS_ONNX_URI / DIGITS_VERTEX_ENDPOINT: `python -m training.vertex_deploy --model-dir …` copies
  the model there, deploys it and prints both (MODEL_PATH=, ENDPOINT=). Local: the remote_functions
  plugin's model directory and model server port (profiles.yml).
-#}
{% macro digits_cnn_onnx_path() -%}
  {%- if target.type == 'bigquery' -%}
    {{ return(var('digits_onnx_uri', env_var('DIGITS_ONNX_URI', ''))) }}
  {%- endif -%}
  {{ return(env_var('DIGITS_MODEL_DIR', 'build/models/digits') ~ '/model.onnx') }}
{%- endmacro %}

{% macro digits_cnn_endpoint() -%}
  {%- if target.type == 'bigquery' -%}
    {{ return(var('digits_vertex_endpoint', env_var('DIGITS_VERTEX_ENDPOINT', ''))) }}
  {%- endif -%}
  {{ return('http://127.0.0.1:' ~ env_var('DIGITS_MODEL_PORT', '8089') ~ '/predict') }}
{%- endmacro %}

{#- A pre-hook: locally, start the CNN's model server (training the CNN first when its artifact
    is missing), which the ONNX file and the remote model's endpoint come from; nothing on
    BigQuery, where both are deployed. -#}
{% macro start_digits_model_server() -%}
  {%- if target.type != 'bigquery' -%}
    select local_model_endpoint()
  {%- endif -%}
{%- endmacro %}

{#- The index of an ARRAY's largest value (the predicted class of a probability vector). -#}
{% macro digits_class_index(probabilities) -%}
  {{ return(adapter.dispatch('digits_class_index', 'analytics_ml')(probabilities)) }}
{%- endmacro %}

{% macro default__digits_class_index(probabilities) -%}
  list_position({{ probabilities }}, list_max({{ probabilities }})) - 1
{%- endmacro %}

{% macro bigquery__digits_class_index(probabilities) -%}
  (select class_index from unnest({{ probabilities }}) as p with offset as class_index order by p desc limit 1)
{%- endmacro %}
