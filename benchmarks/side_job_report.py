"""What bench_ddp.py and bench_spark.py share: the machine line and writing their RESULTS.md section."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine() -> str:
    # The cores are shared with other jobs, so the load at the start says how far to trust a figure.
    return (f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs "
            f"(load average {os.getloadavg()[0]:.1f} at start)")


def emit(lines: list[str], append: Path | None) -> None:
    """Print the section, and append it to ``append`` (benchmarks/RESULTS.md) when given."""
    section = "\n".join(lines) + "\n"
    print(section)
    if append:
        with append.open("a") as results:
            results.write("\n" + section)
