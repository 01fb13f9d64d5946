"""Spark job 1 of 2: the book's titanic preprocessing, raw passengers → model-ready parquet.

    spark-submit --master 'local[*]' --py-files build/spark/spark_jobs.zip spark/preprocess.py \\
        --raw_data_path build/spark/titanic_raw.parquet --processed_data_path build/spark/titanic_processed

Drops the identifiers, median-imputes age and fare, adds family size and is-alone, one-hot encodes
the categories (StringIndexer + OneHotEncoder) and scales each numeric column on its own
(StandardScaler). The output has the book's flat layout (``Survived``, ``Pclass_Vec_0``, …,
``scaled_Parch_0`` as float32), so it can be compared with the book's own processed parquet.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import Imputer, OneHotEncoder, StandardScaler, StringIndexer, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark.gcp_args import local_or_gcs_path
from spark.job import job_parser, run_in_session
from spark.registry import RunRecord, record_run

LABEL = "Survived"
DROPPED = ("PassengerId", "Name", "Ticket", "Cabin")
IMPUTED = ("Age", "Fare")
# Order matters: it is the column order of the book's processed parquet.
CATEGORICAL = ("Pclass", "Sex", "Embarked", "IsAlone")
NUMERIC = ("Age", "Fare", "FamilySize", "SibSp", "Parch")
# Two passengers have no port of embarkation: "keep" gives them an extra index, which the encoder's
# dropLast turns into all zeros. The other categories are complete, and a gap there is an error.
WITH_MISSING_CATEGORIES = ("Embarked",)


def encoded(column: str) -> str:
    return f"{column}_Vec"


def scaled(column: str) -> str:
    return f"scaled_{column}"


def read_table(spark: SparkSession, path: str) -> DataFrame:
    """A parquet file or folder, or a CSV with a header (the raw seed)."""
    if path.endswith(".csv"):
        return spark.read.csv(path, header=True, inferSchema=True)
    return spark.read.parquet(path)


def add_family_features(passengers: DataFrame) -> DataFrame:
    family_size = F.col("SibSp") + F.col("Parch") + F.lit(1)
    return (
        passengers.drop(*DROPPED)
        .withColumn("FamilySize", family_size)
        .withColumn("IsAlone", (family_size == 1).cast("int"))
    )


def build_pipeline() -> Pipeline:
    complete = [c for c in CATEGORICAL if c not in WITH_MISSING_CATEGORIES]
    indexers = [
        StringIndexer(inputCols=list(complete), outputCols=[f"{c}_Idx" for c in complete]),
        StringIndexer(inputCols=list(WITH_MISSING_CATEGORIES),
                      outputCols=[f"{c}_Idx" for c in WITH_MISSING_CATEGORIES], handleInvalid="keep"),
    ]
    encoder = OneHotEncoder(inputCols=[f"{c}_Idx" for c in CATEGORICAL],
                            outputCols=[encoded(c) for c in CATEGORICAL])
    # The book scales every numeric column separately, so each gets its own one-element vector.
    scalers = [
        stage
        for column in NUMERIC
        for stage in (
            VectorAssembler(inputCols=[column], outputCol=f"{column}_Raw"),
            StandardScaler(inputCol=f"{column}_Raw", outputCol=scaled(column)),
        )
    ]
    imputer = Imputer(strategy="median", inputCols=list(IMPUTED), outputCols=list(IMPUTED))
    return Pipeline(stages=[imputer, *indexers, encoder, *scalers])


def flatten(features: DataFrame, vector_columns: Sequence[str]) -> DataFrame:
    """Vector columns → one float32 column per element, named ``<vector>_<i>``."""
    first = features.select(*vector_columns).first()
    if first is None:
        raise ValueError("no passengers to preprocess")
    arrays = features.select(LABEL, *(vector_to_array(F.col(c), "float32").alias(c) for c in vector_columns))
    return arrays.select(
        F.col(LABEL).cast("int").alias(LABEL),
        *(F.col(c)[i].alias(f"{c}_{i}") for c in vector_columns for i in range(first[c].size)),
    )


def preprocess(spark: SparkSession, raw_data_path: str) -> tuple[DataFrame, PipelineModel]:
    """The processed passengers, and the fitted pipeline (its imputation and scaling statistics)."""
    passengers = add_family_features(read_table(spark, raw_data_path))
    model = build_pipeline().fit(passengers)
    vectors = [encoded(c) for c in CATEGORICAL] + [scaled(c) for c in NUMERIC]
    return flatten(model.transform(passengers), vectors), model


def run(spark: SparkSession, args: argparse.Namespace) -> int:
    processed, _ = preprocess(spark, args.raw_data_path)
    # One file, in input order: the data set is small and the book's output is one part file.
    processed.coalesce(1).write.mode("overwrite").parquet(args.processed_data_path)
    rows = spark.read.parquet(args.processed_data_path).count()
    record_run(args.registry, RunRecord(
        job="spark.preprocess", artifact_uri=args.processed_data_path,
        metrics={"rows": rows, "features": len(processed.columns) - 1},
        params={"raw_data_path": args.raw_data_path},
    ))
    return rows


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = job_parser(__doc__)
    parser.add_argument("--raw_data_path", type=local_or_gcs_path, required=True,
                        help="titanic passengers: parquet (spark.export) or the seed CSV; local or gs://")
    parser.add_argument("--processed_data_path", type=local_or_gcs_path, required=True,
                        help="parquet folder written (overwritten); local or gs://")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    run_in_session("titanic-preprocess", run, parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
