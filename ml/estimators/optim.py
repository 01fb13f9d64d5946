"""Batch gradient descent as BigQuery ML runs it: full-batch steps, a line search over
{2, 1, 1/2, 1/4} x the current rate (or a constant rate), L1 by soft-thresholding, L2 in the
gradient, and early stopping on the relative loss improvement."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LossGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]
Loss = Callable[[np.ndarray], float]

LINE_SEARCH_FACTORS = (2.0, 1.0, 0.5, 0.25)


@dataclass
class Iteration:
    """One row of ML.TRAINING_INFO."""

    iteration: int
    loss: float
    eval_loss: float | None
    learning_rate: float | None
    duration_ms: int


@dataclass
class Schedule:
    """The optimisation options of a GLM."""

    max_iterations: int
    line_search: bool
    learn_rate: float
    early_stop: bool
    min_rel_progress: float
    l1: float
    l2: float


def minimize(
    loss_grad: LossGrad,
    data_loss: Loss,
    eval_loss: Loss | None,
    w0: np.ndarray,
    penalized: np.ndarray,
    total_weight: float,
    schedule: Schedule,
) -> tuple[np.ndarray, list[Iteration]]:
    """Minimise data loss + (l2 |w|^2 + l1 |w|_1) / total_weight over `penalized` coordinates.

    `loss_grad(w)` returns the weighted mean data loss and its gradient; the regularisers are
    added here so every GLM shares them. Returns the weights and one `Iteration` per step.
    """
    l1 = schedule.l1 / total_weight
    l2 = schedule.l2 / total_weight

    def objective(w: np.ndarray) -> float:
        return data_loss(w) + l2 * float(np.sum(w[penalized] ** 2)) + l1 * float(np.sum(np.abs(w[penalized])))

    def step(w: np.ndarray, grad: np.ndarray, rate: float) -> np.ndarray:
        moved = w - rate * grad
        if l1:
            shrunk = np.sign(moved[penalized]) * np.maximum(np.abs(moved[penalized]) - rate * l1, 0.0)
            moved[penalized] = shrunk
        return moved

    w, rate = w0.copy(), schedule.learn_rate
    current = objective(w)
    history: list[Iteration] = []
    for iteration in range(schedule.max_iterations):
        started = time.perf_counter()
        _, grad = loss_grad(w)
        grad = grad.copy()
        grad[penalized] += 2.0 * l2 * w[penalized]
        rates = [rate * f for f in LINE_SEARCH_FACTORS] if schedule.line_search else [rate]
        candidates = [(objective(c), r, c) for r in rates for c in [step(w, grad, r)]]
        best_loss, best_rate, best_w = min(candidates, key=lambda t: t[0])
        improved = best_loss <= current
        if improved or not schedule.line_search:
            w, rate = best_w, best_rate
        else:
            rate = rates[-1]  # nothing helped: retry from the same point with a smaller rate
        progress = (current - best_loss) / abs(current) if current else 0.0
        current = min(current, best_loss) if schedule.line_search else best_loss
        history.append(
            Iteration(
                iteration,
                data_loss(w),
                eval_loss(w) if eval_loss else None,
                best_rate,
                round((time.perf_counter() - started) * 1000),
            )
        )
        if schedule.early_stop and progress < schedule.min_rel_progress:
            break
    return w, history
