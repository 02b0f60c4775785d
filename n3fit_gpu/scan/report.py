"""``hyperscan report``: best trials, plots and the best trial as a ready-to-run fit runcard.

Reads only the scan folder (``scan.json``, the runcard copy, ``tries.jsonl``), so it works
during a scan as well as after, and writes ``report/``::

    best_trials.txt    the best trials, one line each, parameters as columns; the scan's cost
    cost.json          per trial its id, loss and cost record; the scan's totals
    loss.png           every trial's loss and the best so far
    parameters.png     loss against each scanned parameter
    best_runcard.yml   the runcard of the best trial, without the scan blocks: `fit` it
"""

from __future__ import annotations

from pathlib import Path

import yaml

from n3fit_gpu.atomic import atomic_write_json, atomic_write_text
from n3fit_gpu.config import load_runcard
from n3fit_gpu.errors import OutputError
from n3fit_gpu.outputs.scan_report import (
    best_trials_table,
    cost_report,
    cost_summary,
    ok_trials,
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
    write_scan_plots(folder, docs)
    winner = best[0]
    card = apply_point(load_runcard(runcard), winner["params"])
    header = (
        f"# Best trial ({winner['tid']}, loss {winner['result']['loss']:.6g}) of the scan "
        f"{root.name}, {len(docs)} trials.\n# Fit it with: fit {folder / 'best_runcard.yml'}\n"
    )
    body = yaml.safe_dump(card.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    atomic_write_text(folder / "best_runcard.yml", header + body)
    return text
