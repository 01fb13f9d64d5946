"""What the imported model types share: their options, MODEL_PATH read into the bytes of the
model's file, and the shape of their ML.PREDICT.

BigQuery reads `gs://bucket/path/model.<extension>` or a folder written `gs://bucket/path/*`; the
local engine reads the same forms, and local paths (a file, or a folder with `*`). A folder must
hold exactly one file of the type's extensions, as BigQuery requires.
"""

from __future__ import annotations

from pathlib import Path

from ml.compile.placeholders import INPUT
from ml.errors import MLError
from ml.extras import require
from ml.model_types.option import Constraint

# BigQuery's options of an imported model; KMS_KEY_NAME is kept with the model, not used locally.
IMPORTED_OPTIONS: dict[str, Constraint] = {
    "model_type": Constraint("string"),
    "model_path": Constraint("string"),
    "kms_key_name": Constraint("string"),
}


def read_model_file(
    model_path: str | None, extensions: tuple[str, ...], model_type: str, max_bytes: int
) -> bytes:
    """The bytes of the one file that `model_path` names, ending in one of `extensions`, at most
    `max_bytes`."""
    if not model_path:
        raise MLError(f"Missing required option: model_path (model_type {model_type})")
    if model_path.startswith("gs://"):
        data = _read_gcs(model_path, extensions, model_type)
    else:
        data = _read_local(model_path, extensions, model_type)
    if len(data) > max_bytes:
        raise MLError(
            f"Invalid value for option model_path: {model_path} is {len(data):,} bytes; "
            f"{model_type} models are limited to {max_bytes:,} bytes"
        )
    return data


def outputs_then_input(values: str, call: str, output_columns: str) -> str:
    """ML.PREDICT of an imported model: its `call` on each input row, kept as column `values`,
    gives the `output_columns` (which read `values`); every input column follows unchanged."""
    scored = f"SELECT *, {call} AS {values} FROM {INPUT} AS __ml_src"
    return f"SELECT {output_columns}, * EXCLUDE ({values}) FROM ({scored}) AS __ml_scored"


def _read_local(model_path: str, extensions: tuple[str, ...], model_type: str) -> bytes:
    path = Path(model_path.removesuffix("*"))
    if path.is_dir():
        names = sorted(str(p) for p in path.iterdir() if p.suffix in extensions)
        path = Path(_only_file(names, model_path, extensions))
    if not path.is_file():
        raise MLError(f"Invalid value for option model_path: no file or folder {model_path}")
    if path.suffix not in extensions:
        raise MLError(
            f"Invalid value for option model_path: {model_type} models must be {_either(extensions)} files"
        )
    return path.read_bytes()


def _read_gcs(model_path: str, extensions: tuple[str, ...], model_type: str) -> bytes:
    require("google.cloud.storage", "gcp", f"A {model_type} model_path on gs://")
    from google.cloud import storage

    bucket_name, _, name = model_path.removeprefix("gs://").partition("/")
    client = storage.Client()
    if name.endswith("*") or not name:
        prefix = name.removesuffix("*")
        names = [b.name for b in client.list_blobs(bucket_name, prefix=prefix) if b.name.endswith(extensions)]
        name = _only_file(names, model_path, extensions)
    return client.bucket(bucket_name).blob(name).download_as_bytes()


def _only_file(names: list[str], model_path: str, extensions: tuple[str, ...]) -> str:
    if len(names) != 1:
        found = ", ".join(names) or "none"
        raise MLError(
            f"Invalid value for option model_path: {model_path} must hold exactly one "
            f"{_either(extensions)} file (found {found})"
        )
    return names[0]


def _either(extensions: tuple[str, ...]) -> str:
    """One extension as written; several as `.a, .b or .c`."""
    return " or ".join(filter(None, (", ".join(extensions[:-1]), extensions[-1])))
