"""The one error type the engine raises: a single line, in BigQuery's words where it has them."""


class MLError(ValueError):
    """A statement the engine cannot run: bad SQL, bad options, bad data or a missing model."""

    def __init__(self, message: str) -> None:
        # One line only: callers (CLI, dbt logs) print it as is.
        super().__init__(" ".join(str(message).split()))
