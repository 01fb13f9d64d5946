"""BigQuery ML's model types as the local engine trains them: one module per family (its options,
checks, task, fit step, compile hooks and supported ML.* functions), listed by the catalog
(ml/model_types/catalog.py)."""
