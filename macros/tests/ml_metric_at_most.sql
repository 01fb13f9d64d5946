{#- For error metrics: the ML.EVALUATE metric (eval split, or `holdout`) must not exceed `value`. -#}
{% test ml_metric_at_most(model, metric, value, holdout=none) %}
    {{ analytics_ml._ml_metric_test(model, metric, '<=', value, holdout) }}
{% endtest %}
