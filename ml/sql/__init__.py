"""BigQuery SQL handling: tokens, ML statements, options, TRANSFORM and query translation."""
