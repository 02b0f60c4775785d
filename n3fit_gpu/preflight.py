"""What a fit or a scan needs, checked before any deep-learning framework is imported.

Everything the runcard and the filesystem can tell — the schema, the datasets and their
variants, the theory and what it holds, the t0 and closure PDFs, the output folder — in about a
second, every problem at once, each one line naming the runcard's file:line and the fix.
``fit --check`` and ``hyperscan --check`` print them all; ``fit`` and ``hyperscan`` stop on the
first before training (and say how many more there are).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from n3fit_gpu.config.issues import RunCardIssue, RunCardValidationError
from n3fit_gpu.config.loader import KeyPath, load_located_runcard
from n3fit_gpu.config.messages import dotted
from n3fit_gpu.config.schema import RunCard
from n3fit_gpu.errors import N3fitError, RunCardError
from n3fit_gpu.physics.commondata import DatasetSpec, check_dataset
from n3fit_gpu.physics.pdf_sets import check_pdf_spec
from n3fit_gpu.physics.theory import read_metadata
from n3fit_gpu.physics.theory_source import is_nnpdf_folder, locate_theory


@dataclass(frozen=True)
class Preflight:
    """The runcard (None when it could not be read) and every problem found, in file order."""

    card: RunCard | None
    problems: tuple[str, ...]

    def raise_first(self, command: str, runcard: Path) -> RunCard:
        """The card, or a :class:`RunCardError` with the first problem and how to see all."""
        if not self.problems:
            assert self.card is not None
            return self.card
        more = len(self.problems) - 1
        rest = f" (+{more} more: `{command} --check {runcard}` lists them all)" if more else ""
        raise RunCardError(self.problems[0] + rest)


def preflight(
    runcard: Path, output: Path | None = None, theory_path: Path | None = None, scan: bool = False
) -> Preflight:
    """Check ``runcard`` for a fit (or a scan, ``scan=True``) writing under ``output``."""
    try:
        card, line_of = load_located_runcard(runcard)
    except RunCardValidationError as error:
        return Preflight(None, tuple(str(issue) for issue in error.errors))
    except RunCardError as error:
        return Preflight(None, (str(error),))

    def issue(path: KeyPath, message: str) -> RunCardIssue:
        return RunCardIssue(str(runcard), line_of(path), dotted(path), message)

    found, other = _dataset_issues(card, issue), []
    unknown = {item.path for item in found}
    try:
        folder = locate_theory(card.theory.theoryid, theory_path)
        nnpdf = is_nnpdf_folder(folder)
        metadata = None if nnpdf else read_metadata(folder)
    except N3fitError as error:
        if theory_path is None:
            found.append(issue(("theory", "theoryid"), str(error)))
        else:
            other.append(f"--theory {theory_path}: {error}")
    else:
        checks = (
            _nnpdf_issues(card, folder, issue) if nnpdf else _theory_issues(card, metadata, issue)
        )
        found += [item for item in checks if f"{item.path}" not in unknown]
    if scan and (card.kfold is None or card.hyperscan_config is None):
        found.append(
            issue(
                (),
                "a scan needs the blocks hyperscan_config: and kfold: (see "
                "runcards/hyperscan.yml); a plain fit runs with `fit`",
            )  # fmt: skip
        )
    found.sort(key=lambda item: item.line)
    if output is not None:
        other += _output_problems(Path(output))
    return Preflight(card, (*(str(item) for item in found), *other))


Issue = Callable[[KeyPath, str], RunCardIssue]


def _dataset_issues(card: RunCard, issue: Issue) -> list[RunCardIssue]:
    found = []
    for i, entry in enumerate(card.dataset_inputs):
        try:
            check_dataset(DatasetSpec(name=entry.dataset, variant=entry.variant))
        except N3fitError as error:
            found.append(issue(("dataset_inputs", i, "dataset"), str(error)))
    return found


def _theory_issues(card: RunCard, metadata: dict, issue: Issue) -> list[RunCardIssue]:
    """The theory holds every dataset and constraint; the t0 and closure PDFs exist."""
    name = metadata.get("name", card.theory.theoryid)
    found = []
    groups = (
        ("datasets", ("dataset_inputs",), card.dataset_inputs),
        ("positivity", ("positivity", "posdatasets"), card.positivity.posdatasets),
        ("integrability", ("integrability", "integdatasets"), card.integrability.integdatasets),
    )
    for group, path, entries in groups:
        held = metadata.get(group, {})
        for i, entry in enumerate(entries):
            if entry.dataset not in held:
                some = ", ".join(sorted(held)[:6]) + ("…" if len(held) > 6 else "")
                message = (
                    f"{entry.dataset} is not in theory {name} (it has {len(held)} {group}: "
                    f"{some}); remove it, or build a theory with it (scripts/build_theory.py)"
                )
                found.append(issue((*path, i, "dataset"), message))
    t0_name = (metadata.get("t0") or {}).get("name")
    pdfs = [(("datacuts", "t0pdfset"), card.datacuts.t0pdfset)]
    if card.closuretest.fakedata:
        pdfs.append((("closuretest", "fakepdf"), card.closuretest.fakepdf))
    for path, spec in pdfs:
        try:
            check_pdf_spec(spec, t0_name, dotted(path))
        except N3fitError as error:
            found.append(issue(path, str(error).removeprefix(f"{dotted(path)}: ")))
    if card.datacuts.t0pdfset is None and t0_name is None:
        found.append(
            issue(
                ("datacuts", "t0pdfset"),
                f"theory {name} ships no t0 PDF; set datacuts.t0pdfset to an LHAPDF set "
                "or make one with scripts/make_t0.py",
            )  # fmt: skip
        )
    return found


def _nnpdf_issues(card: RunCard, folder: Path, issue: Issue) -> list[RunCardIssue]:
    """An NNPDF theory folder: every observable's FK tables and operation (without reading a
    table), and a t0 PDF named (the folder ships none of ours)."""
    from n3fit_gpu.physics.nnpdf_theory import check_dataset_fk

    found = []
    groups = (
        (("dataset_inputs",), card.dataset_inputs),
        (("positivity", "posdatasets"), card.positivity.posdatasets),
        (("integrability", "integdatasets"), card.integrability.integdatasets),
    )
    for path, entries in groups:
        for i, entry in enumerate(entries):
            try:
                check_dataset_fk(folder, entry.dataset, getattr(entry, "variant", None))
            except N3fitError as error:
                found.append(issue((*path, i, "dataset"), str(error)))
    pdfs = [(("datacuts", "t0pdfset"), card.datacuts.t0pdfset)]
    if card.closuretest.fakedata:
        pdfs.append((("closuretest", "fakepdf"), card.closuretest.fakepdf))
    for path, spec in pdfs:
        if spec is None:
            found.append(
                issue(
                    path,
                    f"the NNPDF theory {folder.name} ships no t0 PDF of ours; name one: "
                    "toy, a shipped theory (its t0 PDF), an LHAPDF set folder or a set name "
                    "on $LHAPDF_DATA_PATH",
                )
            )
            continue
        try:
            check_pdf_spec(spec, None, dotted(path))
        except N3fitError as error:
            found.append(issue(path, str(error).removeprefix(f"{dotted(path)}: ")))
    return found


def _output_problems(output: Path) -> list[str]:
    """The output folder can be created and written (checked on its closest existing part)."""
    existing = output
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return [f"--output {output}: {existing} is a file, not a folder; choose another --output"]
    if not os.access(existing, os.W_OK | os.X_OK):
        return [f"--output {output}: {existing} is not writable; choose another --output"]
    return []
