"""The dbt-duckdb plugin UDF: SQL → Arrow UDF → the function over HTTP → the model server."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from dbt.adapters.duckdb.plugins import BasePlugin

from remote_functions.local_services import LocalServices


@pytest.fixture(scope="module")
def services(model_dir: Path) -> Iterator[LocalServices]:
    local = LocalServices(model_dir)
    local.start()
    yield local
    local.stop()


@pytest.fixture
def con(services: LocalServices, digit_pngs: list[str]) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection configured by the plugin, as dbt-duckdb does, with a table of images."""
    plugin = BasePlugin.create(
        "remote_functions.duckdb_plugin",
        config={"function_url": services.function_url, "token": services.token},
    )
    connection = duckdb.connect()
    plugin.configure_connection(connection)
    rows = [(index, base64.b64decode(png)) for index, png in enumerate(digit_pngs)] + [
        (len(digit_pngs), None)
    ]
    connection.execute("create table images (id integer, image blob)")
    connection.executemany("insert into images values (?, ?)", rows)
    return connection


def test_udf_labels_every_row_like_in_process_inference(con, exported, digit_pngs) -> None:
    # The same macro the duckdb__create_remote_function dispatch renders; 7 rows per request.
    con.execute("create macro classify_image(image) as remote_classify_image(image, '{}', 7)")
    rows = con.execute("select id, classify_image(image) from images order by id").fetchall()
    expected = [p["label"] for p in exported.predict(digit_pngs)]
    assert [label for _, label in rows] == [*expected, None]


def test_udf_passes_the_user_defined_context(con, exported, digit_pngs) -> None:
    (reply,) = con.execute(
        """select remote_classify_image(image, '{"output": "json"}', 50) from images where id = 2"""
    ).fetchone()
    assert json.loads(reply)["label"] == exported.predict(digit_pngs[2:3])[0]["label"]


def test_a_bad_image_fails_the_query_instead_of_answering(con) -> None:
    with pytest.raises(duckdb.Error, match="HTTP 400"):
        con.execute("select remote_classify_image('not a png'::blob, '{}', 50)").fetchall()
