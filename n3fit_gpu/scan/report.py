"""``hyperscan report``: best trials, plots and the best trial as a ready-to-run fit runcard.

Reads only the scan folder (``scan.json``, the runcard copy, ``tries.jsonl``), so it works
during a scan as well as after, and writes ``report/``::

    report.html        all of it in one self-contained page (open it first), with the
                       parameters' importance
    best_trials.txt    the best trials, one line each, parameters as columns; the scan's cost
    cost.json          per trial its id, loss and cost record; the scan's totals
    loss.png           every trial's loss and outcome, the best so far, the threshold
    folds.png          the loss of every fold of every trial
    parameters.png     loss against each scanned parameter
    parallel.png       parallel coordinates of the successful trials, coloured by loss
    best_runcard.yml   the runcard of the best trial, without the scan blocks: `fit` it
"""

from __future__ import annotations

from pathlib import Path

import yaml

from n3fit_gpu.atomic import atomic_write_json, atomic_write_text
from n3fit_gpu.config import load_runcard
from n3fit_gpu.errors import OutputError
from n3fit_gpu.outputs.html_page import Page
from n3fit_gpu.outputs.scan_report import (
    best_trials_rows,
    best_trials_table,
    cost_report,
    cost_summary,
    ok_trials,
    parameter_importance,
    stop_counts,
    write_scan_plots,
)
from n3fit_gpu.scan.layout import LOG_NAME, scan_runcard
from n3fit_gpu.scan.space import apply_point
from n3fit_gpu.search.store import TrialLog


def write_report(root: Path, top: int = 10) -> str:
    """Write ``root/report/``; returns the best-trials table and the cost summary."""
    root = Path(root)
    runcard = scan_runcard(root)
    docs = TrialLog(root / LOG_NAME).read()
    best = ok_trials(docs)
    if not best:
        why = "".join(f" ({line})" for line in stop_counts(docs))
        raise OutputError(
            f"{root}: none of the {len(docs)} finished trials succeeded yet{why}; run more "
            "trials or look at result.stopped and result.error in tries.jsonl"
        )
    folder = root / "report"
    text = f"{best_trials_table(docs, top)}\n\n{cost_summary(docs)}"
    atomic_write_text(folder / "best_trials.txt", text + "\n")
    atomic_write_json(folder / "cost.json", cost_report(docs))
    scan_card = load_runcard(runcard)
    label, threshold = _loss_label(scan_card)
    plots = write_scan_plots(folder, docs, label, threshold)
    winner = best[0]
    card = apply_point(scan_card, winner["params"])
    header = (
        f"# Best trial ({winner['tid']}, loss {winner['result']['loss']:.6g}) of the scan "
        f"{root.name}, {len(docs)} trials.\n# Fit it with: fit {folder / 'best_runcard.yml'}\n"
    )
    body = yaml.safe_dump(card.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    atomic_write_text(folder / "best_runcard.yml", header + body)
    _write_page(root, docs, top, label, plots, header + body)
    return text


def _loss_label(card) -> tuple[str, float | None]:
    """What the loss is (for axes) and the threshold, from the runcard's kfold block."""
    kfold = card.kfold
    if kfold is None:
        return "loss", None
    what = "χ²/N" if kfold.loss_type == "chi2" else "1/φ²"
    return (
        f"loss: {kfold.fold_statistic} over folds of {kfold.replica_statistic} {what}",
        float(kfold.threshold),
    )


def _write_page(root: Path, docs: list, top: int, label: str, plots: list, runcard: str) -> None:
    """``report/report.html``: the report in one self-contained page."""
    page = Page(f"Scan {root.name}")
    page.paragraph(f"{len(docs)} trials; {label}. " + " ".join(stop_counts(docs)))
    header, rows = best_trials_rows(docs, top)
    page.heading(f"The {len(rows)} best trials").table(
        header, rows, ["best"] + [""] * (len(rows) - 1)
    )
    captions = {
        "loss": "every trial: outcome, best so far, threshold",
        "folds": "the loss of each fold of each trial",
        "parameters": "the loss against each scanned parameter",
        "parallel": "parallel coordinates of the successful trials, coloured by loss",
    }
    page.heading("History")
    page.image(plots[0], captions["loss"]).image(plots[1], captions["folds"])
    page.heading("Parameters")
    importance = parameter_importance(docs)
    if importance:
        page.paragraph(
            "Importance: the share of the variance of the trials' loss ranks that each "
            "parameter explains alone (correlation ratio η²); noisy with few trials.",
            note=True,
        )
        page.table(["parameter", "η²", "trials"], importance)
    page.image(plots[2], captions["parameters"]).image(plots[3], captions["parallel"])
    page.heading("Cost").code(cost_summary(docs))
    page.heading("Best runcard").code(runcard, summary="best_runcard.yml: fit it as it is")
    page.write(root / "report" / "report.html")
