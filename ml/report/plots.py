"""The model card's figures as PNG bytes (matplotlib, Agg: no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: headless CI and servers have no display

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

_SIZE = (5.0, 3.6)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=96)
    plt.close(figure)
    return buffer.getvalue()


def roc_curve(rows: Sequence[dict[str, Any]], auc: float | None) -> bytes:
    """ML.ROC_CURVE rows: recall against false_positive_rate, with the chance diagonal."""
    points = sorted((r["false_positive_rate"], r["recall"]) for r in rows)
    figure, axes = plt.subplots(figsize=_SIZE)
    axes.plot(
        [0, *[p[0] for p in points], 1],
        [0, *[p[1] for p in points], 1],
        color="#1f77b4",
        lw=2,
        label="model" if auc is None else f"model (AUC {auc:.3f})",
    )
    axes.plot([0, 1], [0, 1], color="#999999", ls="--", lw=1, label="chance")
    axes.set(
        xlabel="false positive rate",
        ylabel="recall (true positive rate)",
        xlim=(0, 1),
        ylim=(0, 1.02),
        title="ROC curve",
    )
    axes.legend(loc="lower right")
    return _png(figure)


def confusion_matrix(rows: Sequence[dict[str, Any]]) -> bytes:
    """ML.CONFUSION_MATRIX rows: expected_label, then one count column per predicted label."""
    predicted = [name for name in rows[0] if name != "expected_label"]
    expected = [str(r["expected_label"]) for r in rows]
    counts = [[r[name] or 0 for name in predicted] for r in rows]
    figure, axes = plt.subplots(figsize=_SIZE)
    image = axes.imshow(counts, cmap="Blues")
    axes.set_xticks(range(len(predicted)), predicted, rotation=30, ha="right")
    axes.set_yticks(range(len(expected)), expected)
    top = max(max(row) for row in counts) or 1
    for i, row in enumerate(counts):
        for j, value in enumerate(row):
            axes.text(
                j, i, str(value), ha="center", va="center", color="white" if value > top / 2 else "black"
            )
    axes.set(xlabel="predicted", ylabel="expected", title="Confusion matrix")
    figure.colorbar(image, ax=axes)
    return _png(figure)


def loss_curve(rows: Sequence[dict[str, Any]]) -> bytes:
    """ML.TRAINING_INFO rows: loss (and eval_loss where there was an eval split) per iteration."""
    rows = sorted(rows, key=lambda r: r["iteration"])
    figure, axes = plt.subplots(figsize=_SIZE)
    axes.plot(
        [r["iteration"] for r in rows], [r["loss"] for r in rows], marker="o", ms=3, label="training loss"
    )
    evaluated = [r for r in rows if r.get("eval_loss") is not None]
    if evaluated:
        axes.plot(
            [r["iteration"] for r in evaluated],
            [r["eval_loss"] for r in evaluated],
            marker="o",
            ms=3,
            label="eval loss",
        )
    axes.set(xlabel="iteration", ylabel="loss", title="Loss per iteration")
    axes.legend()
    return _png(figure)


def bar_chart(values: Sequence[tuple[str, float]], title: str, xlabel: str) -> bytes:
    """Horizontal bars, largest magnitude on top (weights, or feature importance)."""
    values = sorted(values, key=lambda item: abs(item[1]))[-20:]
    figure, axes = plt.subplots(figsize=(_SIZE[0], max(2.4, 0.3 * len(values) + 1)))
    axes.barh(
        [name for name, _ in values],
        [v for _, v in values],
        color=["#d62728" if v < 0 else "#2ca02c" for _, v in values],
    )
    axes.axvline(0, color="black", lw=0.8)
    axes.set(xlabel=xlabel, title=title)
    return _png(figure)
