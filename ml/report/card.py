"""One version's model card: what trained it, how it scores, its figures, and the version history.

The figures are PNGs embedded as base64 data URIs and the style is inline, so the file opens
anywhere (a CI artifact, an email) with nothing else beside it. Every ML.* function a model type
lacks is left out, not an error: a k-means model has no ROC curve.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ml.errors import MLError
from ml.names import ModelName
from ml.registry import EXTERNAL, Registry
from ml.registry.ddl import version_name
from ml.registry.registry import aliases_of, format_number
from ml.report import plots

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1100px; }
h1 { margin-bottom: 0.2rem; } .muted { color: #666; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
tr.current td { background: #fff6d6; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; } figcaption { font-size: 0.85rem; color: #555; }
pre { background: #f6f6f6; padding: 0.8rem; white-space: pre-wrap; font-size: 0.85rem; }
"""


def write_report(registry: Registry, model: ModelName, version: int | None, out: str | None) -> Path:
    """Write the card of `version` (default: the one serving) to `out`; returns the path."""
    version = registry.resolve(model, version=version)
    path = Path(out or f"build/reports/{model.dataset}.{model.model}__v{version}.html")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_card(registry, model, version), encoding="utf-8")
    return path


def build_card(registry: Registry, model: ModelName, version: int) -> str:
    versions = registry.versions(model)
    row = next(v for v in versions if v["version"] == version)
    aliases = registry.aliases(model)
    target = version_name(model, version)
    external = row["status"] == EXTERNAL
    options = json.loads(row["options"] or "{}")
    # A version trained outside the warehouse has no model to describe: its artifact instead.
    info = (
        {"model_type": options.get("model_type", "external")}
        if external
        else registry.backend.model_info(target)
    )
    metrics = json.loads(row["eval_metrics"] or "{}")
    sections = [
        f"<h1>{_e(model)} <span class='muted'>version {version}</span></h1>",
        f"<p class='muted'>{_e(info['model_type'])} · trained {_e(str(row['created_at'])[:19])} by "
        f"{_e(row['triggered_by'])} · aliases: {_e(aliases_of(aliases, version) or 'none')} · "
        f"status: {_e(row['status'])} · training data {_e(row['data_fingerprint'])}</p>",
        "<h2>Evaluation at training</h2>",
        _table(
            ["metric", "value"], [[name, format_number(value)] for name, value in sorted(metrics.items())]
        ),
        "<h2>Figures</h2>",
        "<div class='figures'>"
        + ("" if external else "".join(_figures(registry, target, metrics)))
        + "</div>",
        "<h2>Version history</h2>",
        _history(versions, aliases, version),
        "<h2>Decisions</h2>",
        _decisions(registry.decisions(model)),
        "<h2>Training statement</h2>" if not external else "<h2>Trained outside the warehouse</h2>",
        f"<pre>{_e(row['ddl'] if not external else json.dumps(options, indent=2, sort_keys=True))}</pre>",
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(model)} v{version} model card</title><style>{_STYLE}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>"
    )


def _figures(registry: Registry, target: ModelName, metrics: dict[str, Any]) -> list[str]:
    model_sql = registry.backend.model_sql(target)
    figures = [
        (
            "ROC curve",
            f"ML.ROC_CURVE(MODEL {model_sql})",
            lambda r: plots.roc_curve(r, metrics.get("roc_auc")),
        ),
        ("Confusion matrix", f"ML.CONFUSION_MATRIX(MODEL {model_sql})", plots.confusion_matrix),
        ("Loss per iteration", f"ML.TRAINING_INFO(MODEL {model_sql})", plots.loss_curve),
        ("Weights", f"ML.WEIGHTS(MODEL {model_sql}, STRUCT(TRUE AS standardize))", _weights_chart),
        ("Feature importance", f"ML.FEATURE_IMPORTANCE(MODEL {model_sql})", _importance_chart),
    ]
    rendered = []
    for caption, call, draw in figures:
        png = _figure(registry, call, draw)
        if png is not None:
            encoded = base64.b64encode(png).decode("ascii")
            rendered.append(
                f"<figure><img alt='{_e(caption)}' src='data:image/png;base64,{encoded}'>"
                f"<figcaption>{_e(caption)}: {_e(call)}</figcaption></figure>"
            )
    return rendered


def _figure(registry: Registry, call: str, draw: Callable[[list[dict[str, Any]]], bytes]) -> bytes | None:
    """The figure, or None when this model type has no such ML function (or it returns nothing)."""
    try:
        rows = registry.backend.ml_rows(f"SELECT * FROM {call}")
    except MLError:
        return None
    return draw(rows) if rows else None


def _weights_chart(rows: list[dict[str, Any]]) -> bytes:
    """Standardized weights; a categorical input contributes one bar per category."""
    bars = []
    for row in rows:
        if row.get("weight") is not None:
            bars.append((str(row["processed_input"]), row["weight"]))
        for category in row.get("category_weights") or []:
            bars.append((f"{row['processed_input']}={category['category']}", category["weight"]))
    return plots.bar_chart(bars, "Weights (standardized inputs)", "weight")


def _importance_chart(rows: list[dict[str, Any]]) -> bytes:
    name = next(k for k in ("importance_gain", "importance_weight", "attribution") if k in rows[0])
    return plots.bar_chart([(str(r["feature"]), r[name]) for r in rows], "Feature importance", name)


def _history(versions: list[dict[str, Any]], aliases: dict[str, int], current: int) -> str:
    """Every version with its training-time metrics side by side."""
    metrics = [json.loads(v["eval_metrics"] or "{}") for v in versions]
    names = sorted({name for m in metrics for name in m})
    header = ["version", "aliases", "status", "created_at", "triggered_by", *names]
    rows = [
        [
            v["version"],
            aliases_of(aliases, v["version"]),
            v["status"],
            str(v["created_at"])[:19],
            v["triggered_by"],
        ]
        + [format_number(m.get(name)) for name in names]
        for v, m in zip(versions, metrics, strict=True)
    ]
    return _table(header, rows, highlight=[v["version"] == current for v in versions], text_columns=5)


def _decisions(decisions: list[dict[str, Any]]) -> str:
    if not decisions:
        return "<p class='muted'>No promotions yet.</p>"
    header = [
        "decided_at",
        "action",
        "metric",
        "holdout",
        "champion",
        "challenger",
        "champion score",
        "challenger score",
        "margin",
        "decision",
    ]
    rows = [
        [
            str(d["decided_at"])[:19],
            d["action"],
            d["metric"],
            d["holdout"],
            d["champion_version"],
            d["challenger_version"],
            format_number(d["champion_score"]),
            format_number(d["challenger_score"]),
            format_number(d["min_gain"]),
            d["decision"],
        ]
        for d in decisions
    ]
    return _table(header, rows, text_columns=4)


def _table(
    header: list[str], rows: list[list[Any]], highlight: list[bool] | None = None, text_columns: int = 1
) -> str:
    def cell(tag: str, index: int, value: Any) -> str:
        kind = " class='text'" if index < text_columns else ""
        return f"<{tag}{kind}>{_e('' if value is None else value)}</{tag}>"

    head = "<tr>" + "".join(cell("th", i, h) for i, h in enumerate(header)) + "</tr>"
    body = [
        f"<tr{' class=current' if highlight and highlight[n] else ''}>"
        + "".join(cell("td", i, value) for i, value in enumerate(row))
        + "</tr>"
        for n, row in enumerate(rows)
    ]
    return "<table>" + head + "".join(body) + "</table>"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
