"""Run the titanic Spark jobs here, the way Dataproc runs them: spark-submit, one job after the other.

    python -m spark.run_local [--master 'local[*]'] [--build_dir build/spark]

The local twin of ``spark.submit``: the seeded passengers are exported from the warehouse, the
``spark`` package is zipped for ``--py-files`` (Dataproc gets the same zip as ``python_file_uris``),
and each job's main file goes to ``spark-submit --master local[*]``. The trained model is
registered in the warehouse's model registry (``ml_registry``, status ``external``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml.extras import missing
from spark.export import add_source_arguments, export_titanic
from spark.registry import DEFAULT_WAREHOUSE
from spark.submit import JOBS_ZIP, PACKAGE_DIR, RAW_DATA, build_jobs_zip

# Small data: a UI, a console progress bar and 200 shuffle partitions would only cost time.
QUIET_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.log.level": "WARN",
}


@dataclass(frozen=True)
class LocalPaths:
    raw_data: Path
    processed_data: Path
    model: Path
    jobs_zip: Path

    @classmethod
    def under(cls, build_dir: Path) -> LocalPaths:
        return cls(build_dir / RAW_DATA, build_dir / "titanic_processed",
                   build_dir / "titanic_lr", build_dir / JOBS_ZIP)


def spark_submit_command(job: str, job_args: Sequence[str], master: str, jobs_zip: Path) -> list[str]:
    spark_submit = Path(sys.executable).with_name("spark-submit")
    conf = [item for key, value in QUIET_CONF.items() for item in ("--conf", f"{key}={value}")]
    return [str(spark_submit), "--master", master, *conf, "--py-files", str(jobs_zip),
            str(PACKAGE_DIR / f"{job}.py"), *job_args]


def submit_locally(job: str, job_args: Sequence[str], master: str, jobs_zip: Path) -> None:
    # spark-submit starts the driver with PYSPARK_PYTHON: this interpreter, which has the jobs' deps.
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    subprocess.run(spark_submit_command(job, job_args, master, jobs_zip), check=True, env=env)


def run_local(build_dir: Path, master: str = "local[*]", registry: str = str(DEFAULT_WAREHOUSE),
              seed: int = 42, **source: Any) -> LocalPaths:
    """Export, then spark-submit both jobs; ``source`` is passed to ``export_titanic``."""
    paths = LocalPaths.under(build_dir)
    export_titanic(paths.raw_data, **source)
    build_jobs_zip(paths.jobs_zip)
    submit_locally("preprocess", ["--raw_data_path", str(paths.raw_data),
                                  "--processed_data_path", str(paths.processed_data),
                                  "--registry", registry], master, paths.jobs_zip)
    submit_locally("train", ["--processed_data_path", str(paths.processed_data),
                             "--model_path", str(paths.model),
                             "--seed", str(seed), "--registry", registry], master, paths.jobs_zip)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    problem = missing("pyspark", "spark", "python -m spark.run_local")
    if problem:
        print(problem, file=sys.stderr)
        return 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--build_dir", type=Path, default=Path("build/spark"))
    parser.add_argument("--registry", default=str(DEFAULT_WAREHOUSE))
    parser.add_argument("--seed", type=int, default=42, help="train/test split seed")
    add_source_arguments(parser)
    args = parser.parse_args(argv)
    paths = run_local(args.build_dir, args.master, args.registry, args.seed,
                      database=args.database, seed_csv=args.seed_csv, table=args.table)
    print(f"model saved to {paths.model}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
