"""What happens to training data before a fit, and again inside every prediction template:
BigQuery ML's automatic preprocessing, the expansion of TIMESTAMP / STRUCT / ARRAY inputs, the
TRANSFORM clause and its ML.* preprocessing functions, and the data split."""
