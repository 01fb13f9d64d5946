"""The frame every Spark job shares: its command line and its SparkSession."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from pyspark.sql import SparkSession

from spark.registry import add_registry_argument


def job_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the module docstring's first line, with the ``--registry`` option."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_registry_argument(parser)
    return parser


def run_in_session(app_name: str, run: Callable[[SparkSession, argparse.Namespace], Any],
                   args: argparse.Namespace) -> None:
    # No master here: spark-submit (--master local[*]) or Dataproc decides where the job runs.
    spark = SparkSession.builder.appName(app_name).getOrCreate()
    try:
        run(spark, args)
    finally:
        spark.stop()
