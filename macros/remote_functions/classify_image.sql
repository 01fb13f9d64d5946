{#-
  classify_image(image BYTES) RETURNS STRING: the digits CNN behind the remote function.
  `classify_image_ddl()` creates it (a pre-hook of the models that call it); `classify_image(expr)` calls it.
  BigQuery: vars classify_image_endpoint (the deployed Cloud Function URL) and bigquery_connection
  (project.location.connection_id), or env CLASSIFY_IMAGE_ENDPOINT / BIGQUERY_CONNECTION.
-#}
{% macro classify_image_ddl() -%}
  {{ return(analytics_ml.create_remote_function(
      name='classify_image',
      arguments=[['image', 'BYTES']],
      returns='STRING',
      endpoint=var('classify_image_endpoint', env_var('CLASSIFY_IMAGE_ENDPOINT', '')),
      connection=var('bigquery_connection', env_var('BIGQUERY_CONNECTION', '')),
      max_batching_rows=var('classify_image_max_batching_rows', 500),
  )) }}
{%- endmacro %}

{% macro classify_image(image) -%}
  {{ analytics_ml._remote_function_relation('classify_image') }}({{ image }})
{%- endmacro %}
