"""The local engine's version, recorded on every model it trains (`_ml.models.engine_version`).

Raise it whenever the engine's training or compiled SQL changes what a model computes (new
preprocessing, new template placeholders): the dbt retrain policy retrains models recorded under
another version.
"""

ENGINE_VERSION = "2.2.0"
