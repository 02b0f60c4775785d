"""``<fit>/report.html``: a fit at a glance, from what the fit wrote (summary.json, plots/,
filter.yml) — the theory, the replicas postfit kept and why it vetoed the others, χ² per
dataset, the PDFs at Q0 and the training curves."""

from __future__ import annotations

import json
from pathlib import Path

from n3fit_gpu.outputs.html_page import Page

REPORT_FILE = "report.html"


def write_fit_report(root: Path) -> Path:
    """Write ``root/report.html`` from the fit folder ``root``; returns its path."""
    summary = json.loads((root / "summary.json").read_text())
    counts = summary["replicas"]
    page = Page(f"Fit {summary['name']}")
    theory = summary.get("theory", {})
    page.paragraph(
        f"Theory {theory.get('theoryid')}: {theory.get('order')} {theory.get('observables')}, "
        f"{theory.get('scheme')}, Q0 = {theory.get('q0')} GeV, "
        f"αs(MZ) = {theory.get('alphas_mz')}. {counts['written']} replicas written, "
        f"{counts['selected']} selected by postfit."
    )
    plots = root / "plots"
    _postfit(page, summary)
    _chi2(page, summary, plots / "chi2_per_dataset.png")
    page.heading("PDFs at Q0")
    page.image(plots / "pdf_q0.png", "x·f at Q0 of the selected replicas: 68% band and mean")
    page.heading("Training")
    page.image(plots / "training.png", "training and validation χ² per replica; dots: stops")
    runcard = root / "filter.yml"
    if runcard.is_file():
        page.heading("Runcard")
        page.code(runcard.read_text(), summary="filter.yml: the runcard as run")
    return page.write(root / REPORT_FILE)


def _postfit(page: Page, summary: dict) -> None:
    postfit = summary.get("postfit", {})
    vetoed = postfit.get("vetoed", {})
    stops = summary.get("stop_epochs", {})
    page.heading("Postfit")
    thresholds = postfit.get("thresholds", {})
    if thresholds:
        page.paragraph(
            "NNPDF's vetoes: convergence, integrability ≤ "
            f"{thresholds.get('integrability')}, χ² and arc lengths within "
            f"{thresholds.get('chi2_nsigma')}σ of the replicas' distribution.",
            note=True,
        )
    replicas = sorted(stops, key=int)
    rows = [
        [r, stops[r], "vetoed" if r in vetoed else "selected", ", ".join(vetoed.get(r, []))]
        for r in replicas
    ]
    page.table(
        ["replica", "stop epoch", "postfit", "vetoed by"],
        rows,
        ["bad" if r in vetoed else "" for r in replicas],
    )


def _chi2(page: Page, summary: dict, plot: Path) -> None:
    table = summary.get("chi2_per_dataset")
    page.heading("χ² per dataset")
    if not table:
        page.paragraph("No replica was selected: no χ² to show.", note=True)
        return
    rows = [
        [name, entry.get("ndata"), entry["central"], entry["replica_mean"],
         entry.get("pred_over_data")]
        for name, entry in table.items()
    ]  # fmt: skip
    page.table(
        ["dataset", "points", "χ²/N of the mean PDF", "mean χ²/N of replicas", "pred/data"],
        rows,
    )
    page.image(plot, "χ²/N per dataset: the mean PDF's and the replicas' mean")
