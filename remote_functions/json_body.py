"""A request body as JSON, or one clear reason it is not: too large, not UTF-8, not JSON, or nested
deeper than the parser goes (Python's JSON parser raises RecursionError there, which a framework
answers with HTTP 500: a status BigQuery and Cloud Scheduler would retry). Every reason is the
caller's to fix, so HTTP 400."""

from __future__ import annotations

import json
from typing import Any

# Cloud Run and Cloud Functions (2nd gen) take HTTP request bodies up to 32 MiB.
MAX_BODY_BYTES = 32 * 1024 * 1024


class InvalidBody(ValueError):
    """The request body cannot be read as JSON (the message says why)."""


def parse_json_body(body: bytes, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The JSON value of `body`."""
    if len(body) > max_bytes:
        raise InvalidBody(f"the request body is {len(body):,} bytes, over the {max_bytes:,} accepted")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        offending = body[exc.start]
        raise InvalidBody(f"the request body is not UTF-8 (byte {exc.start} is {offending:#04x})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise InvalidBody(f"the request body is not JSON: {exc.msg} at {where}") from None
    except RecursionError:
        raise InvalidBody("the request body nests JSON arrays or objects too deeply") from None
