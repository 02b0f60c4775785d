"""Where a runcard's theory comes from, and loading it in either layout.

``theory: {theoryid: ID}`` names, in this order of precedence:

1. ``fit --theory DIR``: a folder in our format (``theory.json``) or NNPDF's (``theory_N/``
   with ``fastkernel/``);
2. a theory shipped inside the package (``theory.shipped_theories()``), by name, then an
   NNPDF-layout folder shipped there (``theory_90000001/``: ``theoryid: 90000001``);
3. NNPDF's ``theory_ID/`` under ``$N3FIT_GPU_THEORIES`` (ours), then under NNPDF's theories
   path as validphys finds it: ``theories_path`` of the NNPDF profile
   (``$NNPDF_PROFILE_PATH``, else ``$XDG_CONFIG_HOME/NNPDF/nnprofile.yaml``), relative to its
   ``nnpdf_share``, which defaults to ``<python prefix>/share/NNPDF``.

An NNPDF folder is read with :func:`~.nnpdf_theory.load_nnpdf_theory` for the datasets,
positivity and integrability observables of the runcard (its x grid is the union of their
tables' grids, as validphys builds it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from n3fit_gpu.errors import TheoryNotFoundError
from n3fit_gpu.physics.theory import (
    METADATA_FILE,
    SHIPPED_DIR,
    Theory,
    describe,
    load_theory,
    read_metadata,
    shipped_theories,
)

THEORIES_ENV = "N3FIT_GPU_THEORIES"


def nnpdf_theories_path() -> Path:
    """NNPDF's theories folder, as validphys's profile defines it (see the module docstring)."""
    profile_path = os.environ.get("NNPDF_PROFILE_PATH")
    if profile_path is None:
        config = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
        profile_path = config / "NNPDF" / "nnprofile.yaml"
    profile = {}
    if Path(profile_path).is_file():
        try:
            profile = yaml.safe_load(Path(profile_path).read_text()) or {}
        except (OSError, yaml.YAMLError):
            profile = {}
    share = profile.get("nnpdf_share", "RELATIVE_TO_PYTHON")
    if share in (None, "", "RELATIVE_TO_PYTHON"):
        share = Path(sys.prefix) / "share" / "NNPDF"
    return Path(share).expanduser() / profile.get("theories_path", "theories")


def search_paths() -> list[Path]:
    """Folders searched for ``theory_ID/``, in order."""
    paths = [Path(p) for p in os.environ.get(THEORIES_ENV, "").split(os.pathsep) if p]
    return [*paths, nnpdf_theories_path()]


def is_nnpdf_folder(path: Path) -> bool:
    """A folder in NNPDF's layout (``fastkernel/``, no ``theory.json`` of ours)."""
    return (Path(path) / "fastkernel").is_dir() and not (Path(path) / METADATA_FILE).is_file()


def shipped_nnpdf_folders() -> list[str]:
    """Names (``theory_N``) of the NNPDF-layout folders shipped inside the package."""
    if not SHIPPED_DIR.is_dir():
        return []
    return sorted(p.name for p in SHIPPED_DIR.glob("theory_*") if is_nnpdf_folder(p))


def locate_theory(theoryid: int | str | None, path: str | Path | None = None) -> Path:
    """The folder of the theory (see the module docstring for the order).

    Raises
    ------
    TheoryNotFoundError
        one line: the id, where it was looked for, and how to get it.
    """
    if path is not None:
        return Path(path)
    if theoryid is None:
        raise TheoryNotFoundError("no theory given: set theory.theoryid or pass --theory DIR")
    if str(theoryid) in shipped_theories():
        return SHIPPED_DIR / str(theoryid)
    if f"theory_{theoryid}" in shipped_nnpdf_folders():
        return SHIPPED_DIR / f"theory_{theoryid}"
    for folder in search_paths():
        candidate = folder / f"theory_{theoryid}"
        if candidate.is_dir():
            return candidate
    where = ", ".join(str(p) for p in search_paths())
    shipped = ", ".join(
        "{} ({order} {observables})".format(name, **describe(read_metadata(SHIPPED_DIR / name)))
        for name in shipped_theories()
    )
    folders = ", ".join(
        f"{name.removeprefix('theory_')} (NNPDF layout)" for name in shipped_nnpdf_folders()
    )
    shipped = ", ".join(filter(None, (shipped, folders)))
    raise TheoryNotFoundError(
        f"theory {theoryid}: no theory_{theoryid}/ in {where} (${THEORIES_ENV}, then NNPDF's "
        f"theories path) and none shipped by that name (shipped: {shipped or 'none'}); "
        f"download it with `vp-get theoryID {theoryid}`, set ${THEORIES_ENV} to the folder "
        "holding it, or pass --theory DIR"
    )


def theory_id_of(folder: Path, theoryid: int | str | None) -> int | str:
    """``N`` of ``theory_N/``, else the runcard's id."""
    name = Path(folder).resolve().name
    tail = name.removeprefix("theory_")
    return int(tail) if name.startswith("theory_") and tail.isdigit() else theoryid


def load_card_theory(card, theory_path: str | Path | None = None) -> Theory:
    """The theory of ``card`` (``theory_path`` first), with what the runcard needs of it."""
    folder = locate_theory(card.theory.theoryid, theory_path)
    if not is_nnpdf_folder(folder):
        return load_theory(path=folder)
    from n3fit_gpu.physics.nnpdf_theory import load_nnpdf_theory

    return load_nnpdf_theory(
        folder,
        theory_id_of(folder, card.theory.theoryid),
        datasets=[(e.dataset, e.variant) for e in card.dataset_inputs],
        positivity=[e.dataset for e in card.positivity.posdatasets],
        integrability=[e.dataset for e in card.integrability.integdatasets],
    )
