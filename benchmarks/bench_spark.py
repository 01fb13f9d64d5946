"""The Spark titanic training job against scikit-learn on the same rows: wall time and AUC.

    .venv/bin/python benchmarks/bench_spark.py [--repeat 5] [--append benchmarks/RESULTS.md]

Both sides fit the book's model (standardise, then unregularised logistic regression) on the same
80 % of the preprocessed passengers and score the same held-out 20 %: the split is Spark's seeded
``randomSplit``, and scikit-learn gets those very rows. Spark is timed three ways: the training
function in a warm ``local[2]`` session (read, split, fit, evaluate: Spark is lazy, so they do not
separate), the job through ``spark-submit`` (a JVM per run, as ``python -m spark.run_local`` runs
it), and scikit-learn's fit + score on the rows already in memory is the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pyspark
import sklearn
from pyspark.sql import SparkSession
from side_job_report import emit, machine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from spark import preprocess, train
from spark.export import export_titanic
from spark.run_local import QUIET_CONF, submit_locally
from spark.submit import build_jobs_zip

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED_CSV = REPO_ROOT / "seeds" / "titanic.csv"


def timed(work: Callable[[], float], repeat: int) -> tuple[float, float]:
    """(median seconds, the value ``work`` returned on the last run)."""
    seconds, value = [], 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        value = work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), value


def sklearn_auc(train_rows: np.ndarray, test_rows: np.ndarray) -> float:
    """Column 0 is the label, as in the processed parquet."""
    # C = ∞: no penalty, as Spark's regParam = 0.
    model = make_pipeline(StandardScaler(), LogisticRegression(C=np.inf, max_iter=100))
    model.fit(train_rows[:, 1:], train_rows[:, 0])
    return float(roc_auc_score(test_rows[:, 0], model.predict_proba(test_rows[:, 1:])[:, 1]))


def spark_submit_seconds(processed: Path, model: Path, jobs_zip: Path) -> float:
    job_args = ["--processed_data_path", str(processed), "--model_path", str(model), "--registry", "none"]
    started = time.perf_counter()
    submit_locally("train", job_args, "local[2]", jobs_zip)
    return time.perf_counter() - started


def session() -> SparkSession:
    builder = SparkSession.builder.master("local[2]").appName("bench-spark")
    for key, value in QUIET_CONF.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--append", type=Path, help="append the section to this markdown file")
    args = parser.parse_args(argv)
    where = machine()
    spark = session()
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(tmp)
        export_titanic(build / "raw.parquet", seed_csv=SEED_CSV)
        processed_frame, _ = preprocess.preprocess(spark, str(build / "raw.parquet"))
        processed = build / "processed"
        processed_frame.coalesce(1).write.parquet(str(processed))
        passengers = spark.read.parquet(str(processed))
        train_set, test_set = passengers.randomSplit([0.8, 0.2], seed=train.DEFAULT_SEED)
        train_rows, test_rows = (np.array(part.collect(), dtype=np.float64) for part in (train_set, test_set))

        spark_s, spark_auc = timed(lambda: train.train(spark, str(processed)).auc, args.repeat)
        sklearn_s, sk_auc = timed(lambda: sklearn_auc(train_rows, test_rows), args.repeat)
        submit_s = spark_submit_seconds(processed, build / "model", build_jobs_zip(build / "jobs.zip"))
    spark.stop()

    rows = [
        ("scikit-learn fit + score (rows in memory) — baseline", sklearn_s, sk_auc),
        ("Spark `train()` in a warm local[2] session (read, split, fit, evaluate)", spark_s, spark_auc),
        ("Spark job via spark-submit, local[2] (JVM start, fit, save model)", submit_s, spark_auc),
    ]
    lines = [f"## Spark MLlib titanic training vs scikit-learn ({date.today()})", "",
             f"`benchmarks/bench_spark.py --repeat {args.repeat}`; {where}; "
             f"pyspark {pyspark.__version__}, scikit-learn {sklearn.__version__}. "
             f"{len(train_rows)} training / {len(test_rows)} held-out "
             "passengers, the same rows on both sides; medians of the repeats (spark-submit: one run).", "",
             "| side | wall (s) | × baseline | AUC held-out |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {seconds:.3f} | {seconds / sklearn_s:,.0f}× | {auc:.4f} |"
              for name, seconds, auc in rows]
    lines += ["", f"- AUC, Spark − scikit-learn: {spark_auc - sk_auc:+.4f} (same model, same rows)."]
    emit(lines, args.append)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
