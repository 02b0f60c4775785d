"""Theories: FK tables, evolution operator, and the on-disk format they share.

A theory is a directory written by ``scripts/build_theory.py`` (format version 1)::

    theory.json       metadata: card, Q0, x grid, basis, cuts, datasets, checksums, build record
    fktables.npz      one array per FK table, shape (ndata, nbasis, nx), float64
    evolution.npz     "operator" (nq, nout, nx_ev, nbasis, nx_ev), "xgrid_in", "xgrid_out",
                      "x_interpolation", "output_rotation", "q2", "alphas", "q2_input"

Conventions (shared by every table):

* ``xf`` is x times the PDF at the parametrisation scale Q0, on ``xgrid`` (nx points), in the
  evolution basis ``BASIS`` (Sigma, g, V, V3, V8, V15, T3, T8, T15; fitted charm, no bottom).
* a DIS prediction is ``pred[n] = sum_{f,i} FK[n, f, i] * xf[f, i]``; an observable with
  operation "RATIO" is ``pred0 / pred1`` of its two tables.
* the evolution operator gives x f of PDG flavour ``pid`` at the LHAPDF knots (x_out, Q^2)
  from x f at Q0 on its own input grid ``xgrid_in`` (see :class:`EvolutionOperator`); ``q``
  runs over the Q^2 subgrids concatenated in order (LHAPDF blocks, split at heavy-quark
  thresholds).

NNPDF's own layout (``theory_N/fastkernel/*.pineappl.lz4``) is found and read by
:mod:`.theory_source` and :mod:`.nnpdf_theory` into the same :class:`Theory` record.

This module reads and writes our format with numpy only; building one needs the [theory]
extra (eko, yadism, pineappl, pineko) and lives in ``scripts/build_theory.py``.
"""

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from n3fit_gpu.errors import TheoryError, TheoryNotFoundError
from n3fit_gpu.physics.observables.dis import DISKernel
from n3fit_gpu.physics.observables.protocol import Observable

FORMAT_NAME = "n3fit_gpu-theory"
FORMAT_VERSION = 1
METADATA_FILE = "theory.json"
FKTABLES_FILE = "fktables.npz"
EVOLUTION_FILE = "evolution.npz"
T0_FILE = "t0.npz"  # optional: x·f at Q0 of the theory's t0 PDF, key "xf" (nbasis, nx)
SHIPPED_DIR = Path(__file__).parent / "theories"
BUILD_HINT = "python scripts/build_theory.py --theoryid ID --datasets NAME ... --output DIR"

BASIS: tuple[str, ...] = ("sigma", "g", "v", "v3", "v8", "v15", "t3", "t8", "t15")
Q0_PIDS: tuple[int, ...] = (-4, -3, -2, -1, 1, 2, 3, 4, 21)

# sign of the antiquark ("+" for q+ = q + qbar, "-" for q- = q - qbar) and coefficients of
# (u, d, s, c) in each quark combination of the evolution basis
_COMBINATIONS: dict[str, tuple[str, tuple[float, float, float, float]]] = {
    "sigma": ("+", (1.0, 1.0, 1.0, 1.0)),
    "t3": ("+", (1.0, -1.0, 0.0, 0.0)),
    "t8": ("+", (1.0, 1.0, -2.0, 0.0)),
    "t15": ("+", (1.0, 1.0, 1.0, -3.0)),
    "v": ("-", (1.0, 1.0, 1.0, 1.0)),
    "v3": ("-", (1.0, -1.0, 0.0, 0.0)),
    "v8": ("-", (1.0, 1.0, -2.0, 0.0)),
    "v15": ("-", (1.0, 1.0, 1.0, -3.0)),
}


def evolution_rotation(basis: Sequence[str] = BASIS) -> np.ndarray:
    """Matrix taking flavours at Q0 (``Q0_PIDS``) to evolution-basis combinations.

    Parameters
    ----------
    basis : Sequence[str]
        labels among "g", "sigma", "v", "v3", "v8", "v15", "t3", "t8", "t15".

    Returns
    -------
    np.ndarray
        shape (len(basis), len(Q0_PIDS)): ``evolution = rotation @ flavours``. For ``BASIS``
        it is square and invertible.
    """
    rotation = np.zeros((len(basis), len(Q0_PIDS)))
    for row, label in enumerate(basis):
        if label == "g":
            rotation[row, Q0_PIDS.index(21)] = 1.0
            continue
        if label not in _COMBINATIONS:
            raise ValueError(f"unknown evolution-basis label {label!r}; known: {BASIS}")
        sign, coefficients = _COMBINATIONS[label]
        antiquark = 1.0 if sign == "+" else -1.0
        for quark, coefficient in zip((2, 1, 3, 4), coefficients, strict=True):
            rotation[row, Q0_PIDS.index(quark)] = coefficient
            rotation[row, Q0_PIDS.index(-quark)] = antiquark * coefficient
    return rotation


# A dataset's FK tables: the generic record of :mod:`~n3fit_gpu.physics.observables`, whose
# operands hold one :class:`~n3fit_gpu.physics.observables.dis.DISKernel` each in our format.
ObservableTheory = Observable


@dataclass(frozen=True)
class EvolutionOperator:
    """Evolution from Q0 to the Q^2 grid of an LHAPDF6 set, with alpha_s on the same grid.

    x f of flavour ``pids[p]`` at ``(q2[q], xgrid_out[y])`` from x f at Q0 on ``xgrid_in``::

        evolved[q, c, z] = sum_{f,i} operator[q, c, z, f, i] * xf_in[f, i]   (z on xgrid_in)
        xf[q, p, y] = sum_{c,z} output_rotation[p, c] * x_interpolation[y, z] * evolved[q, c, z]

    Theories built before December 2026 store the flavours themselves on ``xgrid_out``
    (``output_rotation`` and ``x_interpolation`` None: identities). At ``q2_input`` (Q0^2, when
    it is a knot) the evolution is the identity, and :meth:`apply` can take the PDF's own
    values at ``xgrid_out`` there instead of their interpolation.

    Attributes
    ----------
    q2_subgrids : tuple[np.ndarray, ...]
        Q^2 values (GeV^2) of each LHAPDF block; a threshold value ends one block and starts
        the next.
    pids : tuple[int, ...]
        PDG ids of the output flavours (npid,).
    xgrid_out : np.ndarray
        (nx_out,) the LHAPDF x knots.
    operator : np.ndarray
        (nq, nout, nx_ev, nbasis, nx_ev), nq = total length of the subgrids; nout = npid and
        nx_ev = nx_out when the rotation and interpolation are None.
    alphas : np.ndarray
        (nq,) strong coupling at each Q.
    xgrid_in : np.ndarray
        (nx_ev,) x grid of the operator's input (and output, before ``x_interpolation``).
    output_rotation : np.ndarray | None
        (npid, nout) flavours from the operator's output combinations.
    x_interpolation : np.ndarray | None
        (nx_out, nx_ev) x f on ``xgrid_out`` from x f on ``xgrid_in``.
    q2_input : float | None
        Q0^2 of the input.
    basis : tuple[str, ...]
        labels of the input's basis axis.
    """

    q2_subgrids: tuple[np.ndarray, ...]
    pids: tuple[int, ...]
    xgrid_out: np.ndarray
    operator: np.ndarray
    alphas: np.ndarray
    xgrid_in: np.ndarray
    output_rotation: np.ndarray | None = None
    x_interpolation: np.ndarray | None = None
    q2_input: float | None = None
    basis: tuple[str, ...] = BASIS

    @property
    def q2(self) -> np.ndarray:
        """All Q^2 values in order, shape (nq,)."""
        return np.concatenate(self.q2_subgrids)

    def apply(self, xf_in: np.ndarray, xf_out_at_q0: np.ndarray | None = None) -> np.ndarray:
        """Evolve x f at Q0 to every (Q^2, flavour, x_out).

        Parameters
        ----------
        xf_in : np.ndarray
            (..., nbasis, nx_ev) x times the PDF at Q0 in ``basis``, on ``xgrid_in``.
        xf_out_at_q0 : np.ndarray, optional
            (..., nbasis, nx_out) the same PDF on ``xgrid_out``: written as it is at the Q0
            knot (identity evolution), where the operator would give its interpolation.

        Returns
        -------
        np.ndarray
            (..., nq, npid, nx_out) x times the PDF of each flavour.
        """
        nq, nout, nx_ev, nbasis, nx = self.operator.shape
        batch = xf_in.shape[:-2]
        flat = np.reshape(xf_in, (-1, nbasis * nx))
        evolved = flat @ self.operator.reshape(nq * nout * nx_ev, nbasis * nx).T
        evolved = evolved.reshape(-1, nq, nout, nx_ev)
        if self.x_interpolation is not None:
            evolved = evolved @ self.x_interpolation.T
        if self.output_rotation is not None:
            evolved = np.einsum("pc,rqcy->rqpy", self.output_rotation, evolved)
        if xf_out_at_q0 is not None and self.q2_input is not None:
            at_q0 = np.isclose(self.q2, self.q2_input, rtol=1e-9, atol=0.0)
            flavours = basis_to_pids(self.pids, self.basis)  # (npid, nbasis)
            q0_values = flavours @ np.reshape(xf_out_at_q0, (-1, nbasis, len(self.xgrid_out)))
            evolved[:, at_q0] = q0_values[:, None]
        return evolved.reshape(*batch, nq, len(self.pids), len(self.xgrid_out))


def basis_to_pids(pids: Sequence[int], basis: Sequence[str] = BASIS) -> np.ndarray:
    """(len(pids), len(basis)): x f of each PDG flavour at Q0 from the evolution basis (flavours
    absent at Q0, e.g. the bottom, are zero)."""
    inverse = np.linalg.inv(evolution_rotation(basis))  # (Q0_PIDS, basis)
    rows = np.zeros((len(pids), len(basis)))
    for row, pid in enumerate(pids):
        if pid in Q0_PIDS:
            rows[row] = inverse[Q0_PIDS.index(pid)]
    return rows


@dataclass(frozen=True)
class Theory:
    """A loaded theory: FK tables of datasets and constraints, and access to the evolution.

    Attributes
    ----------
    name : str
        e.g. "n3fit_gpu_dis_nlo".
    theoryid : int | str
        the id a runcard names it by: ours are names (never an NNPDF theory number, since
        their physics differs from NNPDF's theory of that number).
    path : Path
        directory it was read from.
    q0 : float
        parametrisation scale in GeV.
    xgrid : np.ndarray
        (nx,) x grid of every FK table.
    basis : tuple[str, ...]
        (nbasis,) evolution-basis labels of the FK tables' second axis.
    theory_card : dict
        the card used (with any overrides applied by the builder).
    cuts : dict
        kinematic cuts applied to the data ("q2min", "w2min").
    datasets, positivity, integrability : Mapping[str, ObservableTheory]
        by name.
    metadata : dict
        the whole theory.json (build record, checksums, evolution entry).
    """

    name: str
    theoryid: int | str
    path: Path
    q0: float
    xgrid: np.ndarray
    basis: tuple[str, ...]
    theory_card: dict
    cuts: dict
    datasets: Mapping[str, ObservableTheory]
    positivity: Mapping[str, ObservableTheory]
    integrability: Mapping[str, ObservableTheory]
    metadata: dict

    @property
    def no_evolution(self) -> str | None:
        """Why this theory has no evolution operator we can read (None when it has one)."""
        if "evolution" in self.metadata:
            return None
        return self.metadata.get("no_evolution", f"theory {self.theoryid} has no evolution")

    def evolution(self) -> EvolutionOperator:
        """Load the evolution operator (read from disk and checksum-verified at each call).

        Raises
        ------
        TheoryNotFoundError
            the theory has none (:attr:`no_evolution` says why).
        """
        if self.no_evolution is not None:
            raise TheoryNotFoundError(self.no_evolution)
        entry = self.metadata["evolution"]
        # "directory": another theory's folder (an NNPDF folder's n3fit_gpu_evolution.json)
        arrays = _read_npz(Path(entry.get("directory", self.path)), entry["file"], self.metadata)
        sizes = np.cumsum([len(grid) for grid in entry["q2_subgrids"]])[:-1]
        q2_input = arrays.get("q2_input")
        return EvolutionOperator(
            q2_subgrids=tuple(np.split(arrays["q2"], sizes)),
            pids=tuple(int(pid) for pid in entry["pids"]),
            xgrid_out=arrays["xgrid_out"],
            operator=arrays["operator"],
            alphas=arrays["alphas"],
            xgrid_in=arrays.get("xgrid_in", self.xgrid),
            output_rotation=arrays.get("output_rotation"),
            x_interpolation=arrays.get("x_interpolation"),
            q2_input=None if q2_input is None else float(q2_input),
            basis=self.basis,
        )

    @property
    def t0_name(self) -> str | None:
        """Name of the t0 PDF shipped with this theory (``T0_FILE``), None without one."""
        entry = self.metadata.get("t0")
        return None if entry is None else entry["name"]

    def t0_xf(self) -> np.ndarray:
        """x·f ``(nbasis, nx)`` at Q0 of the theory's own t0 PDF (checksum-verified).

        Raises
        ------
        TheoryNotFoundError
            the theory ships none.
        """
        if self.t0_name is None:
            raise TheoryNotFoundError(
                f"theory {self.theoryid} ships no t0 PDF; set datacuts.t0pdfset to an LHAPDF "
                f"set (a folder, e.g. output/<fit>/lhapdf/<fit>, or a name on $LHAPDF_DATA_PATH), "
                f"or make one with `python scripts/make_t0.py --theory {self.path}`"
            )
        return _read_npz(self.path, T0_FILE, self.metadata)["xf"]

    @property
    def description(self) -> dict:
        """What a fit prints and records of its theory (:func:`describe`)."""
        return describe(self.metadata)


PERTURBATIVE_ORDERS = {0: "LO", 1: "NLO", 2: "NNLO", 3: "N3LO"}


def describe(metadata: dict) -> dict:
    """A theory's identity from its theory.json: id, order, scheme, Q0, alpha_s, provenance."""
    card = metadata["theory_card"]
    pto = card.get("PTO")
    return {
        "theoryid": metadata["theoryid"],
        "order": PERTURBATIVE_ORDERS.get(pto, f"PTO={pto}"),
        "scheme": card.get("FNS"),
        "q0": float(metadata["q0"]),
        "alphas_mz": card.get("alphas"),
        "fitted_charm": bool(card.get("IC")),
        "observables": metadata.get("observables", "DIS"),
        "built_from": _built_from(metadata),
    }


def _built_from(metadata: dict) -> str:
    card = metadata["theory_card"]
    if metadata.get("nnpdf_folder"):
        return f"NNPDF theory folder {metadata['nnpdf_folder']}"
    if metadata.get("build", {}).get("overrides"):
        return f"NNPDF theory card {card.get('ID')} with {metadata['build']['overrides']}"
    return f"NNPDF theory card {card.get('ID')}"


def summary_line(description: dict) -> str:
    """One line for the start of a fit: ``theory ID: NLO DIS, ZM-VFNS, Q0 = ... (built from)``."""
    d = description
    return (
        f"theory {d['theoryid']}: {d['order']} {d['observables']}, {d['scheme']}, "
        f"Q0 = {d['q0']:g} GeV, alpha_s(MZ) = {d['alphas_mz']}, "
        f"{'fitted' if d['fitted_charm'] else 'perturbative'} charm ({d['built_from']})"
    )


def shipped_theories() -> list[str]:
    """Ids (folder names) of the theories shipped inside the package, sorted."""
    if not SHIPPED_DIR.is_dir():
        return []
    return sorted(p.name for p in SHIPPED_DIR.iterdir() if (p / METADATA_FILE).is_file())


def _not_shipped(theoryid: int | str) -> str:
    """Why ``theoryid`` cannot be loaded, and what to use instead."""
    available = ", ".join(
        "{} ({order} {observables}, {scheme})".format(
            name, **describe(read_metadata(SHIPPED_DIR / name))
        )
        for name in shipped_theories()
    )
    nnpdf = (
        f"theory {theoryid} is an NNPDF theory number and NNPDF theories are not installed here"
        if isinstance(theoryid, int)
        else f"theory {theoryid!r} is not installed"
    )
    return (
        f"{nnpdf}; installed: {available or 'none'}; name one of those in theory.theoryid, or "
        f"build a theory with `{BUILD_HINT}` and pass --theory DIR"
    )


def theory_folder(theoryid: int | str | None = None, path: str | Path | None = None) -> Path:
    """The folder of a shipped theory ``theoryid``, or ``path`` (which takes precedence).

    Raises
    ------
    TheoryNotFoundError
        no theory given, or ``theoryid`` is not shipped.
    """
    if path is not None:
        return Path(path)
    if theoryid is None:
        raise TheoryNotFoundError("no theory given: pass theoryid= or path=")
    folder = SHIPPED_DIR / str(theoryid)
    if not (folder / METADATA_FILE).is_file() or str(theoryid) in ("", ".", ".."):
        raise TheoryNotFoundError(_not_shipped(theoryid))
    return folder


def load_theory(theoryid: int | str | None = None, path: str | Path | None = None) -> Theory:
    """Load a shipped theory by id, or a user-built one by directory.

    Parameters
    ----------
    theoryid : int | str, optional
        id of a theory shipped with the package (see :func:`shipped_theories`).
    path : str or Path, optional
        directory written by ``scripts/build_theory.py``; takes precedence over ``theoryid``.

    Returns
    -------
    Theory

    Raises
    ------
    TheoryNotFoundError
        unknown id, missing directory or missing file.
    TheoryError
        checksum mismatch, unsupported format version or inconsistent tables.
    """
    path = theory_folder(theoryid, path)
    metadata = read_metadata(path)
    tables = _read_npz(path, FKTABLES_FILE, metadata)
    xgrid = np.asarray(metadata["xgrid"], dtype=float)
    basis = tuple(metadata["basis"])
    groups = {
        group: {
            name: _observable(name, entry, tables, (len(basis), len(xgrid)), path)
            for name, entry in metadata[group].items()
        }
        for group in ("datasets", "positivity", "integrability")
    }
    return Theory(
        name=str(metadata["name"]),
        theoryid=metadata["theoryid"],
        path=path,
        q0=float(metadata["q0"]),
        xgrid=xgrid,
        basis=basis,
        theory_card=metadata["theory_card"],
        cuts=metadata["cuts"],
        metadata=metadata,
        **groups,
    )


def sha256(path: Path) -> str:
    """Hex sha256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_theory(
    directory: Path,
    metadata: dict,
    fktables: Mapping[str, np.ndarray],
    evolution: Mapping[str, np.ndarray],
) -> None:
    """Write a theory directory in format version 1 (``theory.json`` last, with checksums).

    Parameters
    ----------
    directory : Path
        created if needed; existing files of the same names are replaced.
    metadata : dict
        every key of theory.json but "format", "format_version" and "files".
    fktables : Mapping[str, np.ndarray]
        npz key -> (ndata, nbasis, nx) table.
    evolution : Mapping[str, np.ndarray]
        "operator", "xgrid_out", "q2", "alphas".
    """
    directory.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(directory / FKTABLES_FILE, **fktables)
    np.savez_compressed(directory / EVOLUTION_FILE, **evolution)
    record = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **metadata}
    record["files"] = {name: sha256(directory / name) for name in (FKTABLES_FILE, EVOLUTION_FILE)}
    with open(directory / METADATA_FILE, "w", encoding="utf-8") as stream:
        json.dump(record, stream, indent=1)
        stream.write("\n")


def read_metadata(path: Path) -> dict:
    """Read and check theory.json of a theory directory."""
    metadata_path = path / METADATA_FILE
    if not metadata_path.is_file():
        raise TheoryNotFoundError(
            f"no theory at {path} ({METADATA_FILE} missing); build one with `{BUILD_HINT}`"
        )
    try:
        with open(metadata_path, encoding="utf-8") as stream:
            metadata = json.load(stream)
    except json.JSONDecodeError as error:
        raise TheoryError(
            f"{metadata_path} is not valid JSON ({error}); rebuild the theory with `{BUILD_HINT}`"
        ) from error
    if metadata.get("format") != FORMAT_NAME or metadata.get("format_version") != FORMAT_VERSION:
        raise TheoryError(
            f"{metadata_path} has format {metadata.get('format')!r} version "
            f"{metadata.get('format_version')!r}, this n3fit_gpu reads {FORMAT_NAME!r} version "
            f"{FORMAT_VERSION}; rebuild it with `{BUILD_HINT}`"
        )
    return metadata


def write_t0(directory: Path, xf: np.ndarray, record: dict) -> None:
    """Add (or replace) a theory's t0 PDF: ``t0.npz`` and its entry and checksum in
    theory.json (written last, atomically). ``record`` must hold its ``name``; the rest
    (how it was made) is kept as given."""
    from n3fit_gpu.atomic import atomic_savez, atomic_write_json

    metadata = read_metadata(directory)
    shape = (len(metadata["basis"]), len(metadata["xgrid"]))
    if np.shape(xf) != shape or not np.all(np.isfinite(xf)):
        raise TheoryError(f"a t0 PDF must be finite x·f of shape {shape}; got {np.shape(xf)}")
    atomic_savez(directory / T0_FILE, xf=np.asarray(xf, dtype=float))
    metadata["t0"] = {"file": T0_FILE, **record}
    metadata["files"][T0_FILE] = sha256(directory / T0_FILE)
    atomic_write_json(directory / METADATA_FILE, metadata, indent=1)


def _read_npz(path: Path, name: str, metadata: dict) -> dict[str, np.ndarray]:
    """Read an npz file of a theory after checking its sha256 against theory.json."""
    file_path = path / name
    if not file_path.is_file():
        raise TheoryNotFoundError(
            f"{file_path} is missing; remake it with `{_rebuild_command(metadata, path, name)}`"
        )
    if sha256(file_path) != metadata["files"].get(name):
        raise TheoryError(
            f"{file_path} is corrupted (sha256 checksum differs from "
            f"{METADATA_FILE}); remake it with `{_rebuild_command(metadata, path, name)}`"
        )
    with np.load(file_path) as archive:
        return {key: archive[key] for key in archive.files}


def _rebuild_command(metadata: dict, path: Path, name: str) -> str:
    """The command(s) that remake file ``name`` of the theory at ``path``: the theory's own
    build and extension commands, pointed at ``path`` (a theory may have been moved since)."""
    if name == T0_FILE:
        return f"python scripts/make_t0.py --theory {path}"
    if name == metadata.get("evolution", {}).get("file"):
        return f"python scripts/build_theory.py --evolution-only --output {path}"
    build = metadata.get("build", {})
    if "command" not in build:
        return BUILD_HINT
    commands = [re.sub(r"--output \S+", f"--output {path}", build["command"])]
    commands += [
        re.sub(r"--extend \S+", f"--extend {path}", extension["command"])
        for extension in build.get("extensions", [])
    ]
    return " && ".join(commands)


def _observable(
    name: str, entry: dict, tables: dict[str, np.ndarray], shape: tuple[int, int], path: Path
) -> Observable:
    """Assemble one observable from its theory.json entry and the loaded tables."""
    missing = [key for key in entry["fktables"] if key not in tables]
    if missing:
        raise TheoryError(
            f"{path}/{FKTABLES_FILE} lacks tables {missing} of {name}; "
            f"rebuild the theory with `{BUILD_HINT}`"
        )
    fktables = tuple(tables[key] for key in entry["fktables"])
    ndata = fktables[0].shape[0]
    if any(table.shape != (ndata, *shape) for table in fktables):
        raise TheoryError(
            f"{path}: FK tables of {name} have shapes "
            f"{[t.shape for t in fktables]}, expected ({ndata}, {shape[0]}, "
            f"{shape[1]}); rebuild the theory with `{BUILD_HINT}`"
        )
    indices = entry.get("data_indices")
    rows = np.arange(ndata) if indices is None else np.asarray(indices, dtype=int)
    return Observable(
        name=name,
        operation=entry["operation"],
        operands=tuple((DISKernel(fk, rows),) for fk in fktables),
        data_indices=None if indices is None else rows,
        kinematics={key: np.asarray(value) for key, value in entry.get("kinematics", {}).items()},
    )
