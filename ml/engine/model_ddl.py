"""ALTER MODEL ... SET OPTIONS and EXPORT MODEL on the local engine (docs/engine-contract.md).

ALTER MODEL keeps BigQuery's alterable options with the model (`_ml.models.metadata`); none of them
changes what the model predicts. EXPORT MODEL writes what BigQuery writes where the local engine
can: a tree ensemble's booster (model.bst) and its assets. BigQuery exports the other trained types as
a TensorFlow SavedModel, which needs TensorFlow, so the local engine refuses them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ml.compile.trees import label_codes
from ml.errors import MLError
from ml.extras import require
from ml.model_types import trees
from ml.model_types.model_type import ModelType
from ml.names import ModelName
from ml.preprocessing.automatic import CategoricalFeature
from ml.sql.statements import AlterModel, ExportModel

# BigQuery's ALTER MODEL options (bigqueryml-syntax-alter-model), in the page's order.
ALTERABLE_OPTIONS = (
    "vertex_ai_model_id",
    "expiration_timestamp",
    "kms_key_name",
    "description",
    "labels",
    "deploy_model",
    "endpoint_idle_ttl",
)
# Only for open models that BigQuery deploys on a Vertex AI endpoint: no local model is one.
_DEPLOYED_OPEN_MODEL_OPTIONS = ("deploy_model", "endpoint_idle_ttl")
EXPORT_OPTIONS = ("uri", "trial_id")

Evaluate = Callable[[str, str], Any]


def altered_metadata(statement: AlterModel, current: dict[str, Any], evaluate: Evaluate) -> dict[str, Any]:
    """The model's ALTER MODEL options after `statement`: each option set replaces its value, NULL
    clears it (as BigQuery's SET OPTIONS does). `evaluate(name, sql)` computes a constant."""
    if not statement.options:
        raise MLError("Syntax error: ALTER MODEL ... SET OPTIONS needs at least one option")
    for name in statement.options:
        _check_alterable(name, statement.name)
    updated = dict(current)
    for name, sql in statement.options.items():
        value = _checked_value(name, evaluate(name, sql))
        if value is None:
            updated.pop(name, None)
        else:
            updated[name] = value
    return updated


def _check_alterable(name: str, model: ModelName) -> None:
    if name not in ALTERABLE_OPTIONS:
        raise MLError(f"Unknown option for ALTER MODEL: {name} (it takes {', '.join(ALTERABLE_OPTIONS)})")
    if name in _DEPLOYED_OPEN_MODEL_OPTIONS:
        raise MLError(
            f"Option {name} applies only to open models that BigQuery deploys on Vertex AI; "
            f"model {model} is not one"
        )


def _checked_value(name: str, value: Any) -> Any:
    """The value to store (JSON-ready), or MLError when its type is not the option's."""
    if value is None:
        return None
    if name == "labels":
        return _labels(value)
    if name == "expiration_timestamp":
        if not isinstance(value, datetime):
            raise MLError(f"Invalid value for option {name}: expected a TIMESTAMP, got {value!r}")
        return value.isoformat()
    if not isinstance(value, str):
        raise MLError(f"Invalid value for option {name}: expected a STRING, got {value!r}")
    return value


def _labels(value: Any) -> dict[str, str]:
    """[('key', 'value'), ...] (ARRAY<STRUCT<STRING, STRING>>) as {key: value}."""
    # DuckDB hands back ('k', 'v') as a tuple and STRUCT('k' AS a, 'v' AS b) as a dict.
    items = value if isinstance(value, list) else [None]
    pairs = [tuple(item.values()) if isinstance(item, dict) else item for item in items]
    if not all(isinstance(p, tuple) and len(p) == 2 and all(isinstance(v, str) for v in p) for p in pairs):
        raise MLError(f"Invalid value for option labels: expected [('key', 'value'), ...], got {value!r}")
    labels = dict(pairs)
    if len(labels) != len(pairs):
        raise MLError("Invalid value for option labels: a key appears twice")
    return labels


def export_files(statement: ExportModel, kind: ModelType, state: dict[str, Any]) -> dict[str, bytes]:
    """The files EXPORT MODEL writes for a model (path under the URI -> bytes)."""
    _check_export_options(statement)
    name = statement.name
    if kind.fit is None or kind.reads_whole_query:
        raise MLError(
            f"EXPORT MODEL does not support model {name}: BigQuery does not export model_type {kind.name}"
        )
    if kind.load_scorer is not trees.load_booster:
        raise MLError(
            f"EXPORT MODEL of model {name} (model_type {kind.name}) needs a TensorFlow SavedModel, which the "
            f"local engine cannot write (TensorFlow is not installed here); tree models export as a booster"
        )
    if state.get("transform"):
        raise MLError(
            f"EXPORT MODEL of model {name}: BigQuery exports its TRANSFORM clause as a TensorFlow SavedModel "
            f"(transform/), which the local engine cannot write"
        )
    return _booster_files(kind, state)


def _check_export_options(statement: ExportModel) -> None:
    for option in statement.options:
        if option not in EXPORT_OPTIONS:
            raise MLError(f"Unknown option for EXPORT MODEL: {option} (it takes uri, trial_id)")
    if "trial_id" in statement.options:
        # The local store keeps the optimal trial only, which is what BigQuery exports by default.
        raise MLError("Option trial_id is not supported by the local engine: it exports the optimal trial")
    uri = statement.options.get("uri")
    if not isinstance(uri, str) or not uri.strip():
        raise MLError("Missing required option: uri (EXPORT MODEL ... OPTIONS (URI = 'gs://bucket/path/'))")


def _booster_files(kind: ModelType, state: dict[str, Any]) -> dict[str, bytes]:
    """model.bst (the booster, UBJSON) and assets/: model_metadata.json naming feature fN, and per
    label-encoded feature N its vocabulary N.txt, line k being the category coded k."""
    features = state["features"]
    files = {"model.bst": base64.b64decode(state["booster"])}
    vocabularies = {}
    for index, feature in enumerate(features):
        if "categories" in feature:
            path = f"assets/{index}.txt"
            files[path] = _vocabulary(CategoricalFeature(**feature)).encode()
            vocabularies[feature["name"]] = path
    metadata = {
        "model_type": kind.name,
        "feature_names": [f["name"] for f in features],
        "vocabularies": vocabularies,
        "label_values": state.get("classes"),
    }
    files["assets/model_metadata.json"] = json.dumps(metadata, indent=2).encode()
    return files


def _vocabulary(feature: CategoricalFeature) -> str:
    """One line per code: line 0 is NULL and unseen categories (empty), then the vocabulary."""
    by_code = {
        int(code): category for category, code in zip(feature.encoded, label_codes(feature), strict=True)
    }
    return "\n".join(by_code.get(code) or "" for code in range(max(by_code, default=0) + 1)) + "\n"


def write_files(uri: str, files: dict[str, bytes]) -> None:
    """Write `files` under a gs://bucket/path/ URI or a local folder (created if missing)."""
    if uri.startswith("gs://"):
        _write_gcs(uri, files)
    elif "://" in uri:
        raise MLError(
            f"Invalid value for option uri: {uri} (EXPORT MODEL writes to gs://bucket/path/ or a folder here)"
        )
    else:
        _write_local(Path(uri), files)


def _write_local(folder: Path, files: dict[str, bytes]) -> None:
    if folder.exists() and not folder.is_dir():
        raise MLError(f"Invalid value for option uri: {folder} is a file, not a folder")
    for relative, data in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _write_gcs(uri: str, files: dict[str, bytes]) -> None:
    bucket_name, _, prefix = uri.removeprefix("gs://").partition("/")
    if not bucket_name:
        raise MLError(f"Invalid value for option uri: {uri} names no bucket")
    require("google.cloud.storage", "gcp", "EXPORT MODEL to gs://")
    from google.cloud import storage

    bucket = storage.Client().bucket(bucket_name)
    folder = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
    for relative, data in files.items():
        bucket.blob(folder + relative).upload_from_string(data)
