{#- A model's ML.EVALUATE metric (eval split, or `holdout`) must reach `value`, e.g.
    data_tests: [{ml_metric_at_least: {metric: roc_auc, value: 0.80}}] -#}
{% test ml_metric_at_least(model, metric, value, holdout=none) %}
    {{ analytics_ml._ml_metric_test(model, metric, '>=', value, holdout) }}
{% endtest %}
