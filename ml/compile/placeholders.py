"""The placeholders of the stored SQL templates, replaced textually by whoever runs a template
(the engine's translator, the dbt macros through the generated contract): they are the template
half of the contract between the engine and its callers (docs/engine-contract.md)."""

# The input relation: a parenthesised query or a relation name, in a FROM clause.
INPUT = "__ML_INPUT__"
# A binary classifier's decision threshold, a DOUBLE literal (0.5 unless the caller gives one).
THRESHOLD = "__ML_THRESHOLD__"
# ML.ROC_CURVE's thresholds: a list literal of numbers, or NULL for BigQuery's default percentiles.
ROC_THRESHOLDS = "__ML_ROC_THRESHOLDS__"
# ML.FORECAST's horizon (an integer literal) and confidence_level (a DOUBLE literal).
HORIZON = "__ML_HORIZON__"
CONFIDENCE_LEVEL = "__ML_CONFIDENCE_LEVEL__"
# ML.EXPLAIN_PREDICT's top_k_features (an integer literal).
TOP_K = "__ML_TOP_K__"

ALL = {
    "input": INPUT,
    "threshold": THRESHOLD,
    "roc_thresholds": ROC_THRESHOLDS,
    "horizon": HORIZON,
    "confidence_level": CONFIDENCE_LEVEL,
    "top_k": TOP_K,
}
