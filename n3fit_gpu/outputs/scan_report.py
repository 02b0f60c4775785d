"""What a person looks at after (or during) a scan, from the trial documents alone.

- :func:`best_trials_table`: the best trials as a text table (loss, folds run, why it stopped,
  wall seconds where the trials carry a cost record, parameters), ranked as TPE sees them
  (:mod:`n3fit_gpu.search.scoring`), and a count of the trials stopped or failed by reason;
- :func:`cost_summary` and :func:`cost_report`: the scan's cost (``result["cost"]`` of each
  document, see :mod:`n3fit_gpu.search.cost`) as text and as JSON; logs written before costs
  were recorded count as trials without cost;
- :func:`write_scan_plots`: ``loss.png`` (loss of every trial and the best so far) and
  ``parameters.png`` (loss against each scanned parameter: scatter for numbers, a strip per
  value for choices; trials where a parameter is inactive, e.g. a clipnorm for an optimizer
  scanned without one, are left out of its panel), failed trials left out; axes spanning
  more than a decade are logarithmic.

Works for any scan whose documents carry ``params`` (the decoded point) and hyperopt's
``result``; nothing here knows about PDFs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.ticker import NullFormatter

from n3fit_gpu.outputs.plots import new_figure, save_png
from n3fit_gpu.search.cost import sum_costs
from n3fit_gpu.search.scoring import ranked_trials

_JOULES_PER_KWH = 3.6e6


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
    """Documents of trials with status ok and a finite loss, best first: the order TPE sees
    (:func:`n3fit_gpu.search.scoring.ranked_trials`)."""
    return ranked_trials(docs)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def best_trials_table(docs: Sequence[dict], top: int = 10) -> str:
    """The ``top`` best trials: rank, trial id, loss, folds run, why it stopped (early
    termination; ``-``: it ran every fold), ``wall_s`` (if any of them has a cost record),
    then every parameter; last, the trials stopped or failed, counted by reason."""
    best = ok_trials(docs)[:top]
    if not best:
        return f"no successful trial among {len(docs)}"
    names = sorted({k for d in best for k in flatten(d["params"])})
    with_cost = any(d["result"].get("cost") for d in best)
    header = ["rank", "trial", "loss", "folds", "stopped", *(["wall_s"] if with_cost else []),
              *names]  # fmt: skip
    rows = []
    for rank, doc in enumerate(best, 1):
        meta = doc["result"].get("kfold_meta", {})
        params = flatten(doc["params"])
        folds = len(meta.get("fold_losses", []))
        wall = [(doc["result"].get("cost") or {}).get("wall_s")] if with_cost else []
        stopped = doc["result"].get("stopped")
        rows.append(
            [rank, doc["tid"], doc["result"]["loss"], folds, stopped, *wall,
             *map(params.get, names)]
        )  # fmt: skip
    table = [header] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in table]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:], *stop_counts(docs)])


def stop_counts(docs: Sequence[dict]) -> list[str]:
    """One line counting the trials by status and stop reason, if any trial stopped."""
    counts = Counter(
        (d["result"].get("status"), d["result"].get("stopped"))
        for d in docs
        if d["result"].get("status") != "ok" or d["result"].get("stopped")
    )
    if not counts:
        return []
    parts = [f"{n} {status} ({why or 'no reason recorded'})"
             for (status, why), n in sorted(counts.items(), key=str)]  # fmt: skip
    return [f"stopped or failed: {', '.join(parts)} of {len(docs)} trials"]


def cost_report(docs: Sequence[dict]) -> dict[str, Any]:
    """``cost.json``: per trial (by id) its id, loss and cost record (``None`` without one),
    and the scan's totals (:func:`n3fit_gpu.search.cost.sum_costs`)."""
    trials = [
        {"tid": d["tid"], "loss": d["result"].get("loss"), "cost": d["result"].get("cost")}
        for d in sorted(docs, key=lambda d: d["tid"])
    ]
    return {"trials": trials, "totals": sum_costs(t["cost"] for t in trials)}


def cost_summary(docs: Sequence[dict]) -> str:
    """The scan's cost in a few lines: wall, CPU and device hours, replica-epochs, energy."""
    totals = sum_costs(d["result"].get("cost") for d in docs)
    missing = totals["trials_without_cost"]
    costed = totals["trials"] - missing
    if not costed:
        return f"cost: none of the {missing} trials has a cost record (logged before costs were)"
    more = f" ({missing} more without a cost record)" if missing else ""
    devices = ", ".join(totals["devices"])
    return "\n".join(
        [
            f"cost of {costed} trials{more}, summed over trials:",
            f"  wall            {totals['wall_s'] / 3600:.4g} h",
            f"  cpu             {totals['cpu_s'] / 3600:.4g} h",
            f"  device          {totals['device_s'] / 3600:.4g} h on {devices}",
            "                  (wall time where a GPU was seen, CPU time without one)",
            f"  replica-epochs  {totals['replica_epochs']}",
            *_energy_lines(totals),
        ]
    )


def _energy_lines(totals: Mapping[str, Any]) -> list[str]:
    if totals["energy_j"] is None:
        return ["  energy          not readable where the trials ran (no RAPL/NVML access)"]
    sources = totals["energy_sources"]
    lines = [
        f"  energy          {totals['energy_j'] / _JOULES_PER_KWH:.4g} kWh",
        f"                  from {', '.join(sources)}",
    ]
    if totals["trials_without_energy"]:
        lines.append(
            f"                  trials without a reading: {totals['trials_without_energy']}"
        )
    if any(s.startswith("rapl:") for s in sources):
        lines.append(
            "                  RAPL counts the whole CPU package, other processes included"
        )
    return lines


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
