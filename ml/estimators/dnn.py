"""Deep neural network classifiers and regressors: a fully connected network trained with PyTorch
mini-batches.

The network mirrors BigQuery's TensorFlow DNNEstimator: Dense layers (Glorot-uniform weights, zero
biases), the activation after every hidden layer, then dropout; one output unit for regression
and binary classification (sigmoid), one per class otherwise (softmax). One iteration is one pass
over the training rows in shuffled batches.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ml.errors import MLError
from ml.estimators.base import BaseModel
from ml.estimators.data import Dataset
from ml.estimators.logistic import MAX_CLASSES
from ml.estimators.optim import Iteration

# Deterministic initialisation and shuffling: a rerun on the same data gives the same model.
SEED = 42
# What one network parameter costs to train and store: the float32 weight, its gradient and up to
# two optimizer slots, the float64 copy the SQL is compiled from, and its text (~25 characters)
# in the pure-SQL predict template and each of its evaluation templates.
BYTES_PER_PARAMETER = 4 * 4 + 8 + 25 * 5
# The share of the memory available now that one network may take.
MEMORY_SHARE = 0.8
DEFAULT_BATCH_SIZE = 1024
MAX_DEFAULT_UNITS = 128


class CReLU(nn.Module):
    """Concatenated ReLU (TensorFlow's crelu): [relu(x), relu(-x)], doubling the width."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(x), torch.relu(-x)], dim=1)


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "RELU": nn.ReLU,
    "RELU6": nn.ReLU6,
    "CRELU": CReLU,
    "ELU": nn.ELU,
    "SELU": nn.SELU,
    "SIGMOID": nn.Sigmoid,
    "TANH": nn.Tanh,
}


def make_optimizer(name: str, params: Any, rate: float) -> torch.optim.Optimizer:
    """BigQuery's optimizer names with TensorFlow's defaults (Adagrad's initial accumulator 0.1,
    epsilon 1e-7). FTRL has no PyTorch implementation and trains with Adagrad."""
    if name in ("ADAGRAD", "FTRL"):
        return torch.optim.Adagrad(params, lr=rate, initial_accumulator_value=0.1, eps=1e-7)
    if name == "ADAM":
        return torch.optim.Adam(params, lr=rate, eps=1e-7)
    if name == "RMSPROP":
        return torch.optim.RMSprop(params, lr=rate, alpha=0.9, eps=1e-7)
    return torch.optim.SGD(params, lr=rate)


def stored_network(
    layers: list[tuple[Any, Any]], activation_fn: str, dtype: torch.dtype = torch.float64
) -> nn.Sequential:
    """The inference network of stored Dense `layers` ((weight (out, in), bias) pairs): the
    activation after every layer but the last, no dropout (inference)."""
    modules: list[nn.Module] = []
    for i, (weight, bias) in enumerate(layers):
        linear = nn.Linear(len(weight[0]), len(weight), dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(np.asarray(weight), dtype=dtype))
            linear.bias.copy_(torch.as_tensor(np.asarray(bias), dtype=dtype))
        modules.append(linear)
        if i < len(layers) - 1:
            modules.append(ACTIVATIONS[activation_fn]())
    return nn.Sequential(*modules).eval()


@dataclass
class StoredNetwork:
    """A DNN's inference network and the layout of its first-layer inputs."""

    network: nn.Sequential  # float64
    numeric_inputs: int
    category_blocks: list[int]  # per categorical feature, how many one-hot columns it has

    @property
    def width(self) -> int:
        return self.numeric_inputs + sum(self.category_blocks)

    def design(self, inputs: np.ndarray) -> np.ndarray:
        """The one-hot design matrix from numerics then 1-based category indices (0: unseen)."""
        X = np.zeros((len(inputs), self.width))
        X[:, : self.numeric_inputs] = inputs[:, : self.numeric_inputs]
        offset = self.numeric_inputs
        for k, size in enumerate(self.category_blocks):
            index = inputs[:, self.numeric_inputs + k].astype(np.int64)
            rows = np.nonzero(index > 0)[0]
            X[rows, offset + index[rows] - 1] = 1.0
            offset += size
        return X

    def outputs(self, inputs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.network(torch.from_numpy(self.design(inputs))).numpy()


def available_memory() -> int:
    """Bytes of memory available to a new allocation now (Linux MemAvailable, else free pages)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


class DNN(BaseModel):
    """Options shared by the DNN classifier and regressor (the CREATE MODEL reference's names).

    Attributes
    ----------
    network_ : torch.nn.Sequential
    hidden_units_ : list of int
        The hidden layer widths used (hidden_units, or BigQuery's default single layer).
    layers_ : list of (weight, bias) ndarrays
        Each Dense layer as float64 arrays, weight of shape (out, in): what the SQL compiles.
    history_ : list of Iteration
    """

    _loss_name = "mse"

    def __init__(
        self,
        *,
        hidden_units: list[int] | None,
        activation_fn: str,
        dropout: float,
        batch_size: int | None,
        optimizer: str,
        learn_rate: float,
        l1_reg: float,
        l2_reg: float,
        max_iterations: int,
        early_stop: bool,
        min_rel_progress: float,
        warm_start: bool,
    ) -> None:
        self.hidden_units = hidden_units
        self.activation_fn = activation_fn
        self.dropout = dropout
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.learn_rate = learn_rate
        self.l1_reg = l1_reg
        self.l2_reg = l2_reg
        self.max_iterations = max_iterations
        self.early_stop = early_stop
        self.min_rel_progress = min_rel_progress
        self.warm_start = warm_start

    def _units(self, n_rows: int, n_in: int, n_out: int) -> list[int]:
        if self.hidden_units:
            return list(self.hidden_units)
        # BigQuery's default: one hidden layer of min(128, N / (10 (inputs + outputs))) units.
        return [max(1, min(MAX_DEFAULT_UNITS, n_rows // (10 * (n_in + n_out))))]

    def _check_size(self, train: Dataset, n_out: int) -> None:
        """Refuse, before fetching or allocating anything, a network that cannot fit in memory
        (each width may be in range while their product is 40 GB of weights)."""
        n_in = train.width
        units = self._units(train.n_rows, n_in, n_out)
        widths = [n_in, *(u * (2 if self.activation_fn == "CRELU" else 1) for u in units)]
        parameters = sum((w + 1) * u for w, u in zip(widths, [*units, n_out], strict=True))
        needed, available = parameters * BYTES_PER_PARAMETER, available_memory()
        if needed > MEMORY_SHARE * available:
            raise MLError(
                f"Invalid value for option hidden_units: {units} makes a network of {parameters:,} "
                f"parameters, about {needed / 2**30:,.1f} GiB to train and store, more than the "
                f"{available / 2**30:,.1f} GiB of memory available"
            )

    def _build(self, n_in: int, n_out: int, n_rows: int) -> nn.Sequential:
        torch.manual_seed(SEED)
        self.hidden_units_ = self._units(n_rows, n_in, n_out)
        modules: list[nn.Module] = []
        width = n_in
        for units in self.hidden_units_:
            modules += [nn.Linear(width, units), ACTIVATIONS[self.activation_fn]()]
            if self.dropout:
                modules.append(nn.Dropout(self.dropout))
            width = units * (2 if self.activation_fn == "CRELU" else 1)
        modules.append(nn.Linear(width, n_out))
        for module in modules:
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        return nn.Sequential(*modules)

    def _penalty(self) -> torch.Tensor:
        """l1_reg |W|_1 + l2_reg |W|^2 over the weight matrices (not the biases)."""
        weights = [m.weight for m in self.network_ if isinstance(m, nn.Linear)]
        return sum(self.l1_reg * w.abs().sum() + self.l2_reg * (w * w).sum() for w in weights)

    def _batch_loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _train(self, X: np.ndarray, y: torch.Tensor, n_out: int, eval_data: tuple | None) -> None:
        # One intra-op thread: batches of a small network are too small to split across threads,
        # and on a busy machine threads spinning on each other make every step many times slower.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            self._train_loop(X, y, n_out, eval_data)
        finally:
            torch.set_num_threads(threads)

    def _train_loop(self, X: np.ndarray, y: torch.Tensor, n_out: int, eval_data: tuple | None) -> None:
        features = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        n = len(features)
        if n == 0:
            raise MLError("The training data is empty")
        self.network_ = self._build(features.shape[1], n_out, n)
        optimizer = make_optimizer(self.optimizer, self.network_.parameters(), self.learn_rate)
        batch = self.batch_size or min(DEFAULT_BATCH_SIZE, n)
        generator = torch.Generator().manual_seed(SEED)
        self.history_: list[Iteration] = []
        previous = None
        epochs = tqdm(
            range(self.max_iterations), desc=f"training {type(self).__name__}", unit="iter", disable=None
        )
        penalized = bool(self.l1_reg or self.l2_reg)
        for iteration in epochs:
            started = time.perf_counter()
            self.network_.train()
            order = torch.randperm(n, generator=generator)
            total = torch.zeros(())
            for start in range(0, n, batch):
                rows = order[start : start + batch]
                optimizer.zero_grad(set_to_none=True)
                loss = self._batch_loss(self.network_(features[rows]), y[rows])
                (loss + self._penalty() if penalized else loss).backward()
                optimizer.step()
                total += loss.detach() * len(rows)
            train_loss = float(total) / n
            eval_loss = self._loss_of(*eval_data) if eval_data else None
            self.history_.append(
                Iteration(
                    iteration,
                    train_loss,
                    eval_loss,
                    self.learn_rate,
                    round((time.perf_counter() - started) * 1000),
                )
            )
            epochs.set_postfix(loss=f"{train_loss:.4g}")
            progress = 1.0 if previous is None else (previous - train_loss) / previous if previous else 0.0
            previous = train_loss
            if self.early_stop and progress < self.min_rel_progress:
                break
        self.network_.eval()
        self.layers_ = [
            (m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
            for m in self.network_
            if isinstance(m, nn.Linear)
        ]

    def _loss_of(self, X: np.ndarray, y: torch.Tensor) -> float:
        self.network_.eval()
        with torch.no_grad():
            return float(self._batch_loss(self._forward(X), y))

    def _forward(self, X: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            return self.network_(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)))

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """The network's outputs (regression value or logits) for processed features `X`."""
        self._check_is_fitted()
        self.network_.eval()
        return self._forward(X).double().numpy()


class DNNRegressor(DNN):
    """BigQuery ML's DNN regressor: minimises the mean squared error."""

    def fit(self, train: Dataset, eval: Dataset | None = None) -> DNNRegressor:
        self._check_size(train, 1)
        X, y = train.arrays(np.float32)
        eval_data = None
        if eval is not None and eval.n_rows:
            eval_X, eval_y = eval.arrays(np.float32)
            eval_data = (eval_X, torch.from_numpy(eval_y.astype(np.float32)))
        self._train(X, torch.from_numpy(y.astype(np.float32)), 1, eval_data)
        return self

    def _batch_loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.mean((output[:, 0] - y) ** 2)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.decision_function(X)[:, 0]


class DNNClassifier(DNN):
    """BigQuery ML's DNN classifier: (class-weighted) cross-entropy; labels arrive as class indices
    into `classes` (ascending label order), the greater label being positive when binary.

    Attributes (besides DNN's)
    ----------
    classes_ : list of str
    class_weight_ : ndarray of shape (n_classes,)
    """

    def __init__(
        self,
        *,
        auto_class_weights: bool,
        class_weights: dict[str, float] | None,
        **dnn_options: Any,
    ) -> None:
        super().__init__(**dnn_options)
        self.auto_class_weights = auto_class_weights
        self.class_weights = class_weights

    def fit(
        self, train: Dataset, eval: Dataset | None = None, classes: list[str] | None = None
    ) -> DNNClassifier:
        if classes is not None:
            self._check_size(train, 1 if len(classes) == 2 else len(classes))
        X, y = train.arrays(np.float32)
        y = y.astype(np.int64)
        self.classes_ = list(classes) if classes is not None else [str(c) for c in range(int(y.max()) + 1)]
        if not 2 <= len(self.classes_) <= MAX_CLASSES:
            raise MLError(f"A DNN classifier needs 2 to {MAX_CLASSES} classes, got {len(self.classes_)}")
        self.class_weight_ = self._class_weights(y)
        self._weights = torch.from_numpy(self.class_weight_.astype(np.float32))
        self._unweighted = bool(np.all(self.class_weight_ == 1.0))
        eval_data = None
        if eval is not None and eval.n_rows:
            eval_X, eval_y = eval.arrays(np.float32)
            eval_data = (eval_X, torch.from_numpy(eval_y.astype(np.int64)))
        n_out = 1 if len(self.classes_) == 2 else len(self.classes_)
        self._train(X, torch.from_numpy(y), n_out, eval_data)
        return self

    def _class_weights(self, y: np.ndarray) -> np.ndarray:
        counts = np.bincount(y, minlength=len(self.classes_)).astype(np.float64)
        if self.auto_class_weights:
            return len(y) / (np.maximum(counts, 1) * len(self.classes_))
        if self.class_weights:
            missing = [c for c in self.classes_ if c not in self.class_weights]
            if missing:
                raise MLError(f"class_weights must give a weight to every label: missing {missing}")
            return np.array([self.class_weights[c] for c in self.classes_])
        return np.ones(len(self.classes_))

    def _batch_loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if output.shape[1] == 1:
            losses = nn.functional.binary_cross_entropy_with_logits(output[:, 0], y.float(), reduction="none")
        else:
            losses = nn.functional.cross_entropy(output, y, reduction="none")
        if self._unweighted:
            return losses.mean()  # what the weighted mean below is with every weight 1, cheaper
        weights = self._weights[y]
        return (losses * weights).sum() / weights.sum()

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n_rows, n_classes)."""
        scores = torch.from_numpy(self.decision_function(X))
        if scores.shape[1] == 1:
            positive = torch.sigmoid(scores[:, 0])
            return torch.stack([1 - positive, positive], dim=1).numpy()
        return torch.softmax(scores, dim=1).numpy()
