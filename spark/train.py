"""Spark job 2 of 2: the book's titanic classifier, processed parquet → saved PipelineModel + AUC.

    spark-submit --master 'local[*]' --py-files build/spark/spark_jobs.zip spark/train.py \\
        --processed_data_path build/spark/titanic_processed --model_path build/spark/titanic_lr

VectorAssembler → StandardScaler → LogisticRegression, fitted on 80 % of the passengers (a seeded
random split) and scored by the area under the ROC curve on the other 20 %. The fitted pipeline is
saved whole, so ``PipelineModel.load(model_path)`` predicts from the processed columns directly.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import BinaryClassificationEvaluator, MulticlassClassificationEvaluator
from pyspark.ml.feature import StandardScaler, VectorAssembler
from pyspark.sql import SparkSession

from spark.gcp_args import local_or_gcs_path
from spark.job import job_parser, run_in_session
from spark.preprocess import LABEL
from spark.registry import RunRecord, record_run

DEFAULT_SEED = 42
REGISTRY_MODEL = "side_jobs.titanic_lr"  # the model each training registers a version of
DEFAULT_TEST_FRACTION = 0.2


@dataclass(frozen=True)
class TrainResult:
    model: PipelineModel
    auc: float
    accuracy: float
    train_rows: int
    test_rows: int


def build_pipeline(feature_columns: Sequence[str], max_iter: int, reg_param: float) -> Pipeline:
    return Pipeline(stages=[
        VectorAssembler(inputCols=list(feature_columns), outputCol="features_raw"),
        StandardScaler(inputCol="features_raw", outputCol="features"),
        LogisticRegression(featuresCol="features", labelCol=LABEL, maxIter=max_iter, regParam=reg_param),
    ])


def train(spark: SparkSession, processed_data_path: str, seed: int = DEFAULT_SEED,
          test_fraction: float = DEFAULT_TEST_FRACTION, max_iter: int = 100,
          reg_param: float = 0.0) -> TrainResult:
    passengers = spark.read.parquet(processed_data_path)
    features = [c for c in passengers.columns if c != LABEL]
    train_set, test_set = passengers.randomSplit([1.0 - test_fraction, test_fraction], seed=seed)
    # Both halves are read twice (fit, then count/evaluate): cache so the split is computed once.
    train_set, test_set = train_set.cache(), test_set.cache()
    model = build_pipeline(features, max_iter, reg_param).fit(train_set)
    scored = model.transform(test_set)
    auc = BinaryClassificationEvaluator(labelCol=LABEL, metricName="areaUnderROC").evaluate(scored)
    accuracy = MulticlassClassificationEvaluator(labelCol=LABEL, metricName="accuracy").evaluate(scored)
    return TrainResult(model, auc, accuracy, train_set.count(), test_set.count())


def run(spark: SparkSession, args: argparse.Namespace) -> TrainResult:
    result = train(spark, args.processed_data_path, args.seed, args.test_fraction, args.max_iter,
                   args.reg_param)
    result.model.write().overwrite().save(args.model_path)
    record_run(args.registry, RunRecord(
        job="spark.train", artifact_uri=args.model_path, model=REGISTRY_MODEL,
        metrics={"auc": result.auc, "accuracy": result.accuracy,
                 "train_rows": result.train_rows, "test_rows": result.test_rows},
        params={"processed_data_path": args.processed_data_path, "seed": args.seed,
                "test_fraction": args.test_fraction, "max_iter": args.max_iter, "reg_param": args.reg_param,
                "model_type": "logistic_reg"},
    ))
    print(f"AUC on the held-out {args.test_fraction:.0%}: {result.auc:.4f}")
    return result


def _fraction(value: str) -> float:
    fraction = float(value)
    if not 0.0 < fraction < 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1")
    return fraction


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = job_parser(__doc__)
    parser.add_argument("--processed_data_path", type=local_or_gcs_path, required=True,
                        help="parquet written by spark/preprocess.py; local or gs://")
    parser.add_argument("--model_path", type=local_or_gcs_path, required=True,
                        help="folder the fitted PipelineModel is saved to (overwritten); local or gs://")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the train/test split")
    parser.add_argument("--test_fraction", type=_fraction, default=DEFAULT_TEST_FRACTION)
    parser.add_argument("--max_iter", type=int, default=100)
    parser.add_argument("--reg_param", type=float, default=0.0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    run_in_session("titanic-train", run, parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
