"""``n3fit-gpu nextfit``: the runcard of the next fit of NNPDF's iteration, from a finished fit.

As validphys' ``vp-nextfitruncard``: the fit's runcard (its ``filter.yml``) with
``fitting.basis`` preprocessing ranges from the postfit-selected replicas' effective exponents
(:mod:`n3fit_gpu.physics.effective_exponents`) and, unless kept, the t0 PDF set to the fit's own
LHAPDF set. Written as plain YAML: the original runcard's comments are not carried over.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from n3fit_gpu.config import load_runcard
from n3fit_gpu.errors import OutputError
from n3fit_gpu.outputs.exportgrid import EXPORT_XGRID
from n3fit_gpu.outputs.fit_folder import selected_pdfs
from n3fit_gpu.physics.basis import fk_label
from n3fit_gpu.physics.effective_exponents import next_ranges
from n3fit_gpu.physics.theory_source import load_card_theory

RUNCARD = "filter.yml"


@dataclass(frozen=True)
class NextFit:
    """The next runcard's text and what changed."""

    text: str
    ranges: dict[str, tuple[tuple[float, float], tuple[float, float]]]  # fl: (smallx, largex)
    previous: dict[str, tuple[tuple[float, float], tuple[float, float]]]
    t0pdfset: str | None  # the new t0 set, None when kept


def next_fit(folder: Path, keep_t0: bool = False) -> NextFit:
    """The next runcard of the finished fit in ``folder`` (one-line :class:`OutputError` when
    it is not one)."""
    folder = Path(folder)
    runcard, summary = folder / RUNCARD, folder / "summary.json"
    if not runcard.is_file() or not summary.is_file():
        raise OutputError(
            f"{folder} is not a finished fit (no {RUNCARD} or summary.json); give the folder "
            "`fit` wrote (e.g. output/<runcard name>)"
        )
    card = load_runcard(runcard)
    selected, xf = selected_pdfs(folder, "xf_export")
    basis = load_card_theory(card).basis
    flavours = [entry.fl for entry in card.fitting.basis]
    rows = [basis.index(fk_label(fl)) for fl in flavours]
    try:
        ranges = next_ranges(xf[:, rows], EXPORT_XGRID, flavours)
    except ValueError as error:
        raise OutputError(f"{folder}: {error}") from None
    raw = yaml.safe_load(runcard.read_text())
    previous = {}
    for entry in raw["fitting"]["basis"]:
        previous[entry["fl"]] = (tuple(entry["smallx"]), tuple(entry["largex"]))
        entry["smallx"], entry["largex"] = (list(r) for r in ranges[entry["fl"]])
    lhapdf = folder / "lhapdf" / folder.name
    t0 = (
        None if keep_t0 or not (lhapdf / f"{folder.name}.info").is_file() else str(lhapdf.resolve())
    )
    if t0 is not None:
        raw.setdefault("datacuts", {})["t0pdfset"] = t0
    header = (
        f"# Next fit of {folder.resolve()} (n3fit-gpu nextfit): preprocessing ranges from its "
        f"{len(selected)} replicas' effective exponents"
        + ("" if t0 is None else ", t0 from its PDF")
        + "\n"
    )
    return NextFit(header + yaml.safe_dump(raw, sort_keys=False), ranges, previous, t0)


def format_changes(result: NextFit) -> str:
    """One line per flavour: old → new ranges."""
    lines = [f"{'fl':5s} {'smallx (α)':>36s}   {'largex (β)':>36s}"]
    for fl, (smallx, largex) in result.ranges.items():
        old_small, old_large = result.previous[fl]
        lines.append(
            f"{fl:5s} {_pair(old_small)} → {_pair(smallx)}   {_pair(old_large)} → {_pair(largex)}"
        )
    lines.append(f"t0pdfset → {result.t0pdfset}" if result.t0pdfset else "t0pdfset kept")
    return "\n".join(lines)


def _pair(pair) -> str:
    return f"[{pair[0]:7.4g}, {pair[1]:7.4g}]"
