"""dnn_classifier benchmark: the engine vs PyTorch used directly, on the same data, same run.

Data: `engine_data.py`'s table with a 3-class label (terciles of its numeric label). Both sides use
the same network (hidden_units, ReLU, one softmax output per class), the same Glorot init and seed,
Adam, the same batch size and the same number of epochs (early_stop FALSE).

- Training: `CREATE MODEL ... dnn_classifier` (AUTO_SPLIT: 10,000 eval rows; statistics, fetch,
  training, SQL compilation, eval snapshots) vs fetching the same table from DuckDB, standardizing
  and one-hot encoding it with numpy, and the same PyTorch loop (timed with and without that prep).
- Prediction: ML.PREDICT (the Engine runs the `predict_udf` template: features and category
  indices in DuckDB SQL, the network in the vectorised forward UDF; `sum()` of one probability so
  the scoring is measured, not result transfer) vs the torch forward pass + softmax on the tensor
  already in memory. Also the stored pure-SQL template (the network unrolled into SQL), what dbt
  runs on its own connection.

    .venv/bin/python benchmarks/bench_engine_dnn.py [--rows 1000000] [--epochs 5] [--repeat 2] \
        [--train-repeat 2]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.compute as pc
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_data import NUMERIC, STRINGS, best_of, create_table

from ml import Engine

HIDDEN = [32, 16]
BATCH = 1024
RATE = 0.01


def create_classes(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    create_table(con, rows)
    con.execute(
        "CREATE OR REPLACE TABLE bench.classes AS SELECT * EXCLUDE (label), "
        "CASE ntile(3) OVER (ORDER BY label) WHEN 1 THEN 'low' WHEN 2 THEN 'mid' ELSE 'high' END AS klass "
        "FROM bench.data"
    )


def direct_arrays(con: duckdb.DuckDBPyConnection) -> tuple[np.ndarray, np.ndarray]:
    """What a PyTorch user would do: fetch, standardize numerics, one-hot strings, index labels."""
    table = con.sql(f"SELECT {', '.join(NUMERIC + list(STRINGS))}, klass FROM bench.classes").to_arrow_table()
    columns = []
    for name in NUMERIC:
        x = table.column(name).to_numpy()
        columns.append((x - x.mean()) / x.std(ddof=1))
    for name in STRINGS:
        vocabulary = pc.unique(table.column(name)).sort()
        index = pc.index_in(table.column(name), value_set=vocabulary).to_numpy()
        columns.append(np.eye(len(vocabulary))[index])
    labels = table.column("klass")
    index = pc.index_in(labels, value_set=pc.unique(labels).sort()).to_numpy()
    return np.column_stack(columns).astype(np.float32), index


def direct_train(X: np.ndarray, y: np.ndarray, epochs: int) -> torch.nn.Sequential:
    """A plain PyTorch loop: the same network, init, optimizer, batches and epochs, and the same
    single intra-op thread the engine trains with (see ml/estimators/dnn.py)."""
    torch.set_num_threads(1)
    torch.manual_seed(42)
    widths = [X.shape[1], *HIDDEN]
    modules: list[torch.nn.Module] = []
    for n_in, n_out in itertools.pairwise(widths):
        modules += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    modules.append(torch.nn.Linear(widths[-1], 3))
    network = torch.nn.Sequential(*modules)
    for module in network:
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(module.weight)
            torch.nn.init.zeros_(module.bias)
    optimizer = torch.optim.Adam(network.parameters(), lr=RATE, eps=1e-7)
    features, labels = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    for _ in range(epochs):
        order = torch.randperm(len(features))
        for start in range(0, len(features), BATCH):
            rows = order[start : start + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(network(features[rows]), labels[rows])
            loss.backward()
            optimizer.step()
    return network.eval()


def direct_predict(network: torch.nn.Sequential, features: torch.Tensor) -> float:
    with torch.no_grad():
        return float(torch.softmax(network(features), dim=1)[:, 0].sum())


def warm_up() -> None:
    """Pay torch's one-time lazy imports (the first optimizer step loads torch._dynamo, seconds)
    before either side is timed."""
    layer = torch.nn.Linear(2, 1)
    optimizer = torch.optim.Adam(layer.parameters())
    layer(torch.ones(1, 2)).sum().backward()
    optimizer.step()



def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to train on and score")
    parser.add_argument("--epochs", type=int, default=5, help="max_iterations (passes over the data)")
    parser.add_argument("--repeat", type=int, default=2, help="prediction runs per side (best is kept)")
    parser.add_argument("--train-repeat", type=int, default=2, help="training runs per side (best is kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "dnn_bench.duckdb"))
        create_classes(con, args.rows)
        engine = Engine(con)
        create = (
            "CREATE OR REPLACE MODEL bench.dnn OPTIONS (model_type = 'dnn_classifier', "
            f"input_label_cols = ['klass'], hidden_units = {HIDDEN}, optimizer = 'adam', "
            f"learn_rate = {RATE}, batch_size = {BATCH}, max_iterations = {args.epochs}, early_stop = FALSE) "
            "AS SELECT * FROM bench.classes"
        )
        warm_up()
        # Each side's best of --train-repeat runs: a shared machine's noise only ever adds time.
        engine_train, _ = best_of(args.train_repeat, lambda: engine.execute(create))
        prep, (X, y) = best_of(args.train_repeat, lambda: direct_arrays(con))
        torch_train, model = best_of(args.train_repeat, lambda: direct_train(X, y, args.epochs))
        query = (
            # BigQuery SQL: arrays index from 0, so OFFSET(0) is the first class, as in DuckDB's [1].
            "SELECT sum(predicted_klass_probs[OFFSET(0)].prob) AS s FROM "
            "ML.PREDICT(MODEL bench.dnn, (SELECT * FROM bench.classes))"
        )
        engine_predict, total = best_of(args.repeat, lambda: engine.execute(query)["s"][0].as_py())
        template = con.execute(
            "SELECT sql_template FROM _ml.model_functions WHERE model = 'dnn' AND function = 'predict'"
        ).fetchall()[0][0]
        pure_sql = (
            "SELECT sum(predicted_klass_probs[1].prob) FROM "
            f"({template.replace('__ML_INPUT__', 'bench.classes')})"
        )
        sql_predict, sql_total = best_of(args.repeat, lambda: con.execute(pure_sql).fetchall()[0][0])
        features = torch.from_numpy(X)
        torch_predict, direct_total = best_of(args.repeat, lambda: direct_predict(model, features))
        con.close()
    rows = args.rows
    print(f"dnn_classifier {HIDDEN}, {rows:,} rows, {args.epochs} epochs, batch {BATCH}, Adam")
    print(f"{'engine CREATE MODEL (s)':<52}{engine_train:>10.2f}")
    print(f"{'PyTorch directly: fetch + encode (s)':<52}{prep:>10.2f}")
    print(f"{'PyTorch directly: training loop (s)':<52}{torch_train:>10.2f}")
    print(f"training speed ratio vs PyTorch loop only: {torch_train / engine_train:.2f}x")
    print(
        f"training speed ratio vs PyTorch fetch + encode + loop: {(prep + torch_train) / engine_train:.2f}x"
    )
    print(
        f"{'engine ML.PREDICT in DuckDB (rows/s)':<46}{rows / engine_predict:>14,.0f}  "
        f"({engine_predict:.3f} s)"
    )
    print(
        f"{'PyTorch forward + softmax (rows/s)':<52}{rows / torch_predict:>14,.0f}  ({torch_predict:.3f} s)"
    )
    print(
        f"predict throughput ratio (engine / PyTorch): {torch_predict / engine_predict:.2f}x "
        f"(PyTorch counting the fetch + encode from DuckDB: {(prep + torch_predict) / engine_predict:.2f}x)"
    )
    print(
        f"{'stored pure-SQL template (rows/s)':<52}{rows / sql_predict:>14,.0f}  ({sql_predict:.3f} s); "
        f"ratio {torch_predict / sql_predict:.2f}x; sum {sql_total:.4f} (UDF path: {total:.4f})"
    )
    print(
        f"sum of P(first class): engine {total:.4f}, PyTorch {direct_total:.4f} (models trained separately)"
    )


if __name__ == "__main__":
    main()
