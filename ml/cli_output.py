"""How the CLI's commands print a result: an aligned text table, CSV or JSON records. A module of
its own so every command module can use it without importing the CLI that imports them."""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

import pyarrow as pa


def _cell(value: Any) -> str:
    """Scalars as text; ARRAY / STRUCT values as JSON, the way BigQuery's CLI shows them."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return str(value)


def write_table(table: pa.Table, fmt: str, out: TextIO) -> None:
    """Print an Arrow table as an aligned text table, CSV, or JSON records."""
    rows = table.to_pylist()
    if fmt == "json":
        json.dump(rows, out, default=str, indent=2)
        out.write("\n")
        return
    header = table.column_names
    cells = [[_cell(row[name]) for name in header] for row in rows]
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(cells)
        return
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out.write(line + "\n")
    out.write("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |\n")
    out.write(line + "\n")
    for row in cells:
        out.write("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |\n")
    out.write(line + "\n")
