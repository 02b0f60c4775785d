"""What a person looks at after (or during) a scan, from the trial documents alone.

- :func:`best_trials_table`: the best trials as a text table (loss, folds run, why it stopped,
  wall seconds where the trials carry a cost record, parameters), ranked as TPE sees them
  (:mod:`n3fit_gpu.search.scoring`), and a count of the trials stopped or failed by reason;
- :func:`cost_summary` and :func:`cost_report`: the scan's cost (``result["cost"]`` of each
  document, see :mod:`n3fit_gpu.search.cost`) as text and as JSON; logs written before costs
  were recorded count as trials without cost;
- :func:`write_scan_plots`: ``loss.png`` (every trial by outcome — finished, stopped early,
  failed with a penalised loss, failed without one —, the best so far, the best trial, the
  threshold), ``folds.png`` (each fold's loss), ``parameters.png`` (loss against each scanned
  parameter: scatter for numbers, a strip per value for choices; trials where a parameter is
  inactive are left out of its panel) and ``parallel.png`` (parallel coordinates coloured by
  loss); axes spanning more than a decade are logarithmic, so one diverging trial does not
  flatten the others;
- :func:`parameter_importance`: how much of the spread of the trials' loss ranks each
  parameter explains alone.

Works for any scan whose documents carry ``params`` (the decoded point) and hyperopt's
``result``; nothing here knows about PDFs.
"""

from __future__ import annotations

import math
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


def best_trials_rows(docs: Sequence[dict], top: int = 10) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the ``top`` best trials: rank, trial id, loss, folds run, why it
    stopped (early termination; ``None``: it ran every fold), ``wall_s`` (if any of them has a
    cost record), then every parameter."""
    best = ok_trials(docs)[:top]
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
    return header, rows


def best_trials_table(docs: Sequence[dict], top: int = 10) -> str:
    """:func:`best_trials_rows` as text; last, the trials stopped or failed, counted by
    reason."""
    if not ok_trials(docs):
        return f"no successful trial among {len(docs)}"
    header, rows = best_trials_rows(docs, top)
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


def _plot_losses(path: Path, docs: Sequence[dict], label: str, threshold: float | None) -> None:
    """Every trial by id: finished (dots), stopped early (triangles), failed with a penalised
    loss (crosses), failed without one (ticks along the top); the best so far and the best
    trial; the threshold."""
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    ordered = sorted(docs, key=lambda d: d["tid"])
    groups = {
        "finished": [d for d in ordered if _outcome(d) == "finished"],
        "stopped early": [d for d in ordered if _outcome(d) == "early"],
        "failed (penalised loss)": [d for d in ordered if _outcome(d) == "penalised"],
    }
    styles = {
        "finished": {"marker": "o", "color": "C0"},
        "stopped early": {"marker": "v", "color": "C1"},
        "failed (penalised loss)": {"marker": "x", "color": "C3"},
    }
    figure = new_figure(7.5, 4.2)
    ax = figure.add_subplot()
    for name, group in groups.items():
        if group:
            x = [d["tid"] for d in group]
            ax.scatter(x, [d["result"]["loss"] for d in group], s=18, label=name, **styles[name])
    good = sorted(ok_trials(docs), key=lambda d: d["tid"])
    if good:
        tids = np.array([d["tid"] for d in good])
        best = np.minimum.accumulate([d["result"]["loss"] for d in good])
        ax.step(tids, best, where="post", color="C2", label="best so far")
        winner = ok_trials(docs)[0]
        star = {"marker": "*", "s": 160, "color": "gold", "edgecolor": "k", "zorder": 3}
        ax.scatter([winner["tid"]], [winner["result"]["loss"]], label=f"best: trial "
                   f"{winner['tid']}", **star)  # fmt: skip
    no_loss = [d["tid"] for d in ordered if _outcome(d) == "no_loss"]
    if no_loss:
        top = blended_transform_factory(ax.transData, ax.transAxes)
        ax.scatter(no_loss, [0.97] * len(no_loss), marker="|", s=80, color="grey",
                   transform=top, label="failed (no loss)")  # fmt: skip
    losses = np.array([d["result"]["loss"] for g in groups.values() for d in g], dtype=float)
    note = ""
    if threshold is not None and (losses.size == 0 or threshold <= 3 * np.nanmax(losses)):
        ax.axhline(threshold, ls="--", lw=1, color="C3", label=f"threshold {threshold:g}")
    elif threshold is not None:  # drawn, it would flatten every trial to the bottom
        note = f"\n(threshold {threshold:g}, far above every trial, not drawn)"
    ax.set(xlabel="trial", ylabel=label, yscale=log_scale_for(losses))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    counts = Counter(_outcome(d) for d in ordered)
    ax.set_title(
        f"{len(ordered)} trials: {counts['finished']} finished, {counts['early']} stopped "
        f"early, {counts['penalised'] + counts['no_loss']} failed{note}",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    save_png(figure, path)


def _outcome(doc: dict) -> str:
    result = doc["result"]
    if result.get("loss") is None or not math.isfinite(result["loss"]):
        return "no_loss"
    if result.get("status") != "ok":
        return "penalised"
    return "early" if result.get("stopped") else "finished"


def log_scale_for(values: np.ndarray) -> str:
    """``log`` for positive values spanning more than a decade, else ``linear``."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    positive = values.size and np.all(values > 0)
    return "log" if positive and values.max() > 10 * values.min() else "linear"


def _plot_folds(path: Path, docs: Sequence[dict], label: str) -> None:
    """The loss of every fold of every trial (a trial stopped at a fold has fewer)."""
    from matplotlib.ticker import MaxNLocator

    ordered = sorted(docs, key=lambda d: d["tid"])
    per_fold: dict[int, list[tuple[int, float]]] = {}
    for doc in ordered:
        losses = doc["result"].get("kfold_meta", {}).get("fold_losses", [])
        for k, loss in enumerate(losses):
            if loss is not None and math.isfinite(loss):
                per_fold.setdefault(k, []).append((doc["tid"], loss))
    figure = new_figure(7.5, 4.0)
    ax = figure.add_subplot()
    every = []
    for k, points in sorted(per_fold.items()):
        ax.scatter(*zip(*points), s=14, marker="os^Dv<>p"[k % 8], label=f"fold {k + 1}")
        every += [loss for _, loss in points]
    ax.set(xlabel="trial", ylabel=f"fold {label}", yscale=log_scale_for(np.array(every)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("loss per fold: which partitions the trials find hard", fontsize=10)
    if per_fold:
        ax.legend(fontsize=8)
    save_png(figure, path)


def _numeric(values: list) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _scanned(docs: Sequence[dict]) -> tuple[list[dict], np.ndarray, list[str]]:
    """The successful trials' flat parameters, their losses, and the parameters that vary."""
    good = ok_trials(docs)
    flat = [flatten(d["params"]) for d in good]
    names = sorted({k for f in flat for k in f if len({str(g.get(k)) for g in flat}) > 1})
    return flat, np.array([d["result"]["loss"] for d in good], dtype=float), names


def parameter_importance(docs: Sequence[dict]) -> list[tuple[str, float, int]]:
    """Per scanned parameter, the share of the variance of the trials' loss ranks that it
    explains alone (the correlation ratio η² over its values, numbers cut at their quartiles),
    and the trials it was active in; most important first. Ranks, not losses, so one
    diverging trial does not decide it; with few trials it is noisy (η² of a parameter
    without effect is about (groups − 1)/trials)."""
    flat, losses, names = _scanned(docs)
    ranks = np.argsort(np.argsort(losses)).astype(float)
    found = []
    for name in names:
        pairs = [(f[name], r) for f, r in zip(flat, ranks) if f.get(name) is not None]
        if len(pairs) < 3:
            continue
        values = [v for v, _ in pairs]
        r = np.array([rank for _, rank in pairs])
        if _numeric(values):
            edges = np.unique(np.quantile(np.asarray(values, float), [0.25, 0.5, 0.75]))
            groups = np.searchsorted(edges, np.asarray(values, float), side="right")
        else:
            groups = np.unique([str(v) for v in values], return_inverse=True)[1]
        total = np.sum((r - r.mean()) ** 2)
        between = sum(
            np.sum(groups == g) * (r[groups == g].mean() - r.mean()) ** 2 for g in set(groups)
        )
        found.append((name, float(between / total) if total > 0 else 0.0, len(pairs)))
    return sorted(found, key=lambda item: -item[1])


def _plot_parallel(path: Path, docs: Sequence[dict], label: str) -> None:
    """Parallel coordinates: one line per successful trial across every scanned parameter
    (each axis scaled to its range, log for numbers spanning a decade, choices spread
    evenly), coloured by loss; the best trial drawn thick."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm, Normalize

    flat, losses, names = _scanned(docs)
    figure = new_figure(min(14.0, max(6.0, 1.3 * (len(names) + 1))), 4.2)
    ax = figure.add_subplot()
    if not names or losses.size == 0:
        ax.text(0.5, 0.5, "no parameter varies among the successful trials", ha="center")
        save_png(figure, path)
        return
    columns = []
    for name in names:
        values = [f.get(name) for f in flat]
        present = [v for v in values if v is not None]
        if _numeric(present):
            numbers = np.array([np.nan if v is None else float(v) for v in values])
            if log_scale_for(numbers) == "log":
                numbers = np.log10(numbers)
            low, high = np.nanmin(numbers), np.nanmax(numbers)
            columns.append((numbers - low) / (high - low if high > low else 1.0))
        else:
            labels = sorted({str(v) for v in present})
            spread = max(len(labels) - 1, 1)
            columns.append(
                np.array([np.nan if v is None else labels.index(str(v)) / spread for v in values])
            )
    table = np.stack(columns, axis=1)  # (trials, parameters)
    scale = LogNorm if log_scale_for(losses) == "log" else Normalize
    norm = scale(vmin=losses.min(), vmax=losses.max())
    cmap = colormaps["viridis_r"]
    x = np.arange(len(names))
    for i in np.argsort(-losses):  # best drawn last, on top
        ax.plot(x, table[i], color=cmap(norm(losses[i])), lw=2.5 if i == np.argmin(losses)
                else 0.8, alpha=0.9)  # fmt: skip
    ax.set_xticks(x, names, rotation=20, ha="right", fontsize=8)
    ax.set_yticks([0, 1], ["min", "max"])
    for position in x:
        ax.axvline(position, color="k", lw=0.5)
    figure.colorbar(_mappable(norm, cmap), ax=ax, label=label)
    ax.set_title("successful trials across the parameters (thick: the best)", fontsize=10)
    save_png(figure, path)


def _mappable(norm, cmap):
    from matplotlib.cm import ScalarMappable

    return ScalarMappable(norm=norm, cmap=cmap)


def _plot_parameters(path: Path, docs: Sequence[dict], label: str) -> None:
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
            ax.set_xscale(log_scale_for(np.asarray(values, float)))
        else:  # a choice: one strip per value, jittered
            labels = sorted({str(v) for v in values})
            positions = [labels.index(str(v)) for v in values]
            jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(values))
            ax.scatter(np.add(positions, jitter), losses, s=12)
            ax.set_xticks(range(len(labels)), labels)
        ax.set(xlabel=name, ylabel=label, yscale=log_scale_for(all_losses))
        ax.xaxis.set_minor_formatter(NullFormatter())  # log axes: decades only, no clutter
        ax.yaxis.set_minor_formatter(NullFormatter())
    save_png(figure, path)


def write_scan_plots(
    folder: Path, docs: Sequence[dict], label: str = "loss", threshold: float | None = None
) -> list[Path]:
    """``loss.png`` (every trial, its outcome, the best so far, the ``threshold``),
    ``folds.png``, ``parameters.png`` and ``parallel.png`` in ``folder``; ``label`` names the
    loss (what statistic of what). Returns the files written."""
    folder = Path(folder)
    files = {name: folder / f"{name}.png" for name in ("loss", "folds", "parameters", "parallel")}
    _plot_losses(files["loss"], docs, label, threshold)
    _plot_folds(files["folds"], docs, label)
    _plot_parameters(files["parameters"], docs, label)
    _plot_parallel(files["parallel"], docs, label)
    return list(files.values())
