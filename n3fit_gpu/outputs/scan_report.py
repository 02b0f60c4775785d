"""What a person looks at after (or during) a scan, from the trial documents alone.

- :func:`best_trials_table`: the best trials as a text table (loss, folds run, parameters);
- :func:`write_scan_plots`: ``loss.png`` (loss of every trial and the best so far) and
  ``parameters.png`` (loss against each scanned parameter: scatter for numbers, a strip per
  value for choices; trials where a parameter is inactive, e.g. a clipnorm for an optimizer
  scanned without one, are left out of its panel), failed trials left out; axes spanning
  more than a decade are logarithmic.

Works for any scan whose documents carry ``params`` (the decoded point) and hyperopt's
``result``; nothing here knows about PDFs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.ticker import NullFormatter

from n3fit_gpu.outputs.plots import new_figure, save_png


def flatten(point: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested point → ``{"optimizer.learning_rate": 0.01, ...}``."""
    flat: dict[str, Any] = {}
    for key, value in point.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def ok_trials(docs: Sequence[dict]) -> list[dict]:
    """Documents of trials with status ok and a finite loss, best first."""
    good = [
        d
        for d in docs
        if d["result"].get("status") == "ok" and np.isfinite(d["result"].get("loss", np.nan))
    ]
    return sorted(good, key=lambda d: d["result"]["loss"])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def best_trials_table(docs: Sequence[dict], top: int = 10) -> str:
    """The ``top`` best trials: rank, trial id, loss, folds run, then every parameter."""
    best = ok_trials(docs)[:top]
    if not best:
        return f"no successful trial among {len(docs)}"
    names = sorted({k for d in best for k in flatten(d["params"])})
    header = ["rank", "trial", "loss", "folds", *names]
    rows = []
    for rank, doc in enumerate(best, 1):
        meta = doc["result"].get("kfold_meta", {})
        params = flatten(doc["params"])
        folds = len(meta.get("fold_losses", []))
        rows.append([rank, doc["tid"], doc["result"]["loss"], folds, *map(params.get, names)])
    table = [header] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in table]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def _plot_losses(path: Path, docs: Sequence[dict]) -> None:
    good = sorted(ok_trials(docs), key=lambda d: d["tid"])
    tids = np.array([d["tid"] for d in good])
    losses = np.array([d["result"]["loss"] for d in good])
    figure = new_figure(7.0, 4.0)
    ax = figure.add_subplot()
    ax.scatter(tids, losses, s=14, label="trial")
    if losses.size:
        ax.step(tids, np.minimum.accumulate(losses), where="post", color="C3", label="best so far")
    ax.set(xlabel="trial", ylabel="loss", yscale=_log_scale(losses))
    ax.legend()
    save_png(figure, path)


def _log_scale(values: np.ndarray) -> str:
    """``log`` for positive values spanning more than a decade."""
    positive = values.size and np.all(values > 0)
    return "log" if positive and values.max() > 10 * values.min() else "linear"


def _plot_parameters(path: Path, docs: Sequence[dict]) -> None:
    good = ok_trials(docs)
    flat = [flatten(d["params"]) for d in good]
    names = sorted({k for f in flat for k in f if len({str(g.get(k)) for g in flat}) > 1})
    columns = 3
    rows = max(1, -(-len(names) // columns))
    figure = new_figure(4.0 * columns, 3.0 * rows)
    all_losses = np.array([d["result"]["loss"] for d in good])
    for i, name in enumerate(names):
        ax = figure.add_subplot(rows, columns, i + 1)
        pairs = [(f[name], loss) for f, loss in zip(flat, all_losses) if f.get(name) is not None]
        values = [v for v, _ in pairs]
        losses = np.array([loss for _, loss in pairs])
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            ax.scatter(values, losses, s=12)
            ax.set_xscale(_log_scale(np.asarray(values, float)))
        else:  # a choice: one strip per value, jittered
            labels = sorted({str(v) for v in values})
            positions = [labels.index(str(v)) for v in values]
            jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(values))
            ax.scatter(np.add(positions, jitter), losses, s=12)
            ax.set_xticks(range(len(labels)), labels)
        ax.set(xlabel=name, ylabel="loss", yscale=_log_scale(all_losses))
        ax.xaxis.set_minor_formatter(NullFormatter())  # log axes: decades only, no clutter
        ax.yaxis.set_minor_formatter(NullFormatter())
    save_png(figure, path)


def write_scan_plots(folder: Path, docs: Sequence[dict]) -> list[Path]:
    """``loss.png`` and ``parameters.png`` in ``folder``; returns the files written."""
    folder = Path(folder)
    _plot_losses(folder / "loss.png", docs)
    _plot_parameters(folder / "parameters.png", docs)
    return [folder / "loss.png", folder / "parameters.png"]
