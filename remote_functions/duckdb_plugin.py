"""dbt-duckdb plugin: BigQuery remote functions as DuckDB UDFs that call the locally served function.

Enabled in ``profiles.yml`` under the local output::

    plugins:
      - module: remote_functions.duckdb_plugin
        alias: remote_functions
        config:
          model_dir: build/models/digits   # trained on first use when missing
          model_port: 8089                 # the model server's port (default: any free one)
          # function_url / token: call an already running function instead of starting one

It registers ``remote_classify_image(image BLOB, user_defined_context VARCHAR, max_batching_rows
INTEGER) → VARCHAR``, a vectorised (Arrow) UDF. Like BigQuery, it cuts each batch of rows into
requests of at most ``max_batching_rows`` calls, POSTs them in the remote-function JSON protocol and
retries 408/429/500/503/504; any other failure fails the query. The ``create_remote_function`` macro
wraps it in a DuckDB macro with the options of the BigQuery ``CREATE FUNCTION``.
``local_model_endpoint() → VARCHAR`` starts the services and returns the model server's predict
URL, which a remote model over the same CNN names as its ENDPOINT (a pre-hook of the models that
need the server up, or the CNN trained).

The function and its model server start on the first call (not on every dbt command) and stop when
dbt exits.
"""

from __future__ import annotations

import base64
import getpass
import json
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import requests
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.adapters.events.logging import AdapterLogger
from duckdb.sqltypes import BLOB, INTEGER, VARCHAR

from remote_functions.endpoint import RetryPolicy, post_with_retries
from remote_functions.local_services import LocalServices

# BigQuery retries a failing batch up to 20 times; the local twin does the same, faster.
BIGQUERY_RETRY = RetryPolicy(attempts=20, base_delay=0.1, max_delay=5.0, timeout=600.0, deadline=None)
logger = AdapterLogger("DuckDB")


class RemoteFunctionError(RuntimeError):
    """The function answered with an error: the query fails, as it does in BigQuery."""


class RemoteFunctionClient:
    """What BigQuery does for a remote function: batch the calls, POST them, collect the replies."""

    def __init__(
        self,
        url: str,
        token: str | None,
        caller: str,
        concurrency: int = 4,
        retry: RetryPolicy = BIGQUERY_RETRY,
    ) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.caller = caller
        self.retry = retry
        self.session = requests.Session()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="remote-function")

    def call(
        self, calls: Sequence[list[Any]], context: dict[str, str] | None, max_batching_rows: int
    ) -> list[Any]:
        """One reply per call, in order."""
        batches = [
            list(calls[start : start + max_batching_rows])
            for start in range(0, len(calls), max(max_batching_rows, 1))
        ]
        replies = self._pool.map(lambda batch: self._request(batch, context), batches)
        return [reply for batch in replies for reply in batch]

    def _request(self, calls: list[list[Any]], context: dict[str, str] | None) -> list[Any]:
        body = {
            "requestId": str(uuid.uuid4()),
            "caller": self.caller,
            "sessionUser": getpass.getuser(),
            "calls": calls,
        }
        if context:
            body["userDefinedContext"] = context
        response = post_with_retries(self.session, self.url, json.dumps(body), self.retry, self.headers)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            payload = {}
        if response.status_code != 200:
            raise RemoteFunctionError(
                f"remote function answered HTTP {response.status_code}: "
                f"{payload.get('errorMessage', response.text[:300])}"
            )
        replies = payload.get("replies")
        if not isinstance(replies, list) or len(replies) != len(calls):
            count = len(replies) if isinstance(replies, list) else "no"
            raise RemoteFunctionError(f"remote function sent {count} replies for {len(calls)} calls")
        return replies


class Plugin(BasePlugin):
    """Registers the remote-function UDFs on dbt's DuckDB connection."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        model_dir = Path(plugin_config.get("model_dir", "build/models/digits"))
        port = plugin_config.get("model_port")
        self.services = LocalServices(model_dir, model_port=int(port) if port else None)
        self.function_url: str | None = plugin_config.get("function_url")
        self.token: str | None = plugin_config.get("token")
        self._client: RemoteFunctionClient | None = None

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        conn.create_function(
            "remote_classify_image",
            self.classify_image,
            [BLOB, VARCHAR, INTEGER],
            VARCHAR,
            type="arrow",
            null_handling="special",
            side_effects=False,
        )
        # side effects: it starts the services, so DuckDB must call it, never fold it away.
        conn.create_function("local_model_endpoint", self.model_endpoint, [], VARCHAR, side_effects=True)

    def model_endpoint(self) -> str:
        """Start the services if need be (training the model first when its artifact is missing)
        and return the model server's predict URL: what a remote model's ENDPOINT names locally."""
        self.client()
        if self.services.model_url is None:
            raise RemoteFunctionError("function_url is set: this plugin starts no model server to name")
        return self.services.model_url

    def client(self) -> RemoteFunctionClient:
        if self._client is None:
            if self.function_url:
                url, token = self.function_url, self.token
            else:
                url, token = self.services.start(), self.services.token
                logger.info(
                    f"remote_functions: started function {url} and model server "
                    f"{self.services.model_url} (pids {self.services.pids()})"
                )
            self._client = RemoteFunctionClient(url, token, caller="//duckdb/dbt-duckdb/analytics_ml")
        return self._client

    def classify_image(self, images: pa.Array, contexts: pa.Array, max_rows: pa.Array) -> pa.Array:
        """The UDF over one vector of rows; the context and batch size are constants per query."""
        if len(images) == 0:
            return pa.array([], type=pa.string())
        calls = [
            [None if image is None else base64.b64encode(image).decode("ascii")]
            for image in images.to_pylist()
        ]
        context = json.loads(contexts[0].as_py() or "{}")
        replies = self.client().call(calls, context or None, int(max_rows[0].as_py() or 50))
        return pa.array(replies, type=pa.string())
