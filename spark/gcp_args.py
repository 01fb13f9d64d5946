"""argparse types for Google Cloud names, shared by the Dataproc and Vertex AI job builders.

Each one refuses a malformed value with ``argparse.ArgumentTypeError``, so a bad argument stops the
command line before any client is created or any request is sent. The patterns are the documented
rules of each name, not a guess at every value Google accepts.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import fields
from typing import Any

# Project IDs: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter.
_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
# Regions: us-central1, europe-west4, northamerica-northeast1 ...
_REGION = re.compile(r"[a-z]+-[a-z]+[0-9]+")
# Bucket names: 3-63 characters of lowercase letters, digits, dots, hyphens and underscores.
_GCS_URI = re.compile(r"gs://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9](/[^\s]*)?")
_URI_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")
_SERVICE_ACCOUNT = re.compile(
    r"[a-z0-9-]+@[a-z0-9.-]+\.iam\.gserviceaccount\.com|[0-9]+-compute@developer\.gserviceaccount\.com"
)


def _matching(pattern: re.Pattern[str], what: str, value: str) -> str:
    if not pattern.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a valid {what}")
    return value


def project_id(value: str) -> str:
    return _matching(_PROJECT, "Google Cloud project ID", value)


def region(value: str) -> str:
    return _matching(_REGION, "Google Cloud region (such as us-central1)", value)


def gcs_uri(value: str) -> str:
    """A ``gs://bucket[/path]`` URI, without a trailing slash."""
    return _matching(_GCS_URI, "gs://bucket/path URI", value).rstrip("/")


def service_account(value: str) -> str:
    return _matching(_SERVICE_ACCOUNT, "service account e-mail", value)


def local_or_gcs_path(value: str) -> str:
    """A local path or a gs:// URI: what Spark reads here and on Dataproc. Other schemes are refused."""
    if not value:
        raise argparse.ArgumentTypeError("an empty path")
    if _URI_SCHEME.match(value):
        return gcs_uri(value)
    return value


def google_credentials_found() -> bool:
    """Whether Application Default Credentials exist: checked before a real submission builds anything."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        google.auth.default()
    except DefaultCredentialsError:
        return False
    return True


NO_CREDENTIALS = "no Google credentials: run `gcloud auth application-default login` (or pass --dry-run)"


def require_credentials(parser: argparse.ArgumentParser) -> None:
    """A usage error before a real submission when no credentials exist (nothing is sent)."""
    if not google_credentials_found():
        parser.error(NO_CREDENTIALS)


def config_from_args(config_type: type, args: argparse.Namespace) -> Any:
    """A job's config dataclass from the parsed flags of the same names (its labels are its own)."""
    names = [f.name for f in fields(config_type) if f.name != "labels"]
    return config_type(**{name: getattr(args, name) for name in names})
