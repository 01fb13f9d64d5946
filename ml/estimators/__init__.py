"""The numeric cores behind BigQuery ML model types, scikit-learn style (options in, learned
`attr_` out): no SQL, no option tables (those are the model types', ml/model_types)."""
