"""Experimental data (DIS and hadronic) from the ``nnpdf-data`` package, one record per dataset.

A dataset is named ``<setname>_<observable>`` (e.g. ``HERA_NC_318GEV_EP-SIGMARED``): the folder
``nnpdf_data/commondata/<setname>/`` holds a ``metadata.yaml`` listing its observables and their
variants (alternative uncertainty breakdowns, e.g. ``legacy``), plus the data, kinematics and
uncertainty YAML files. ``nnpdf_data.parse_new_metadata`` resolves the metadata and variant; the
(large) data files are read here with PyYAML's C loader, ~15× faster than the ruamel loader
``nnpdf_data`` uses (HERA NC e⁺p: 1.4 s instead of 20 s).

Uncertainties are absolute. Each systematic column has a treatment (``ADD`` or ``MULT``) and a
name: ``UNCORR``/``THEORYUNCORR`` (independent per point), ``CORR``/``THEORYCORR`` (correlated
within the dataset), ``SKIP`` (ignored) or any other name (correlated across every dataset that
carries it, e.g. ``HC_sys1`` shared by the HERA NC and CC sets).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from pathlib import Path

import nnpdf_data
import numpy as np
import yaml
from nnpdf_data.commondataparser import ObservableMetaData
from nnpdf_data.validphys_compatibility import legacy_to_new_mapping
from validobj import ValidationError

from n3fit_gpu.errors import DataError

# Kinematic labels used for DIS in nnpdf-data (new format first, then the old k1/k2/k3 ones).
_KINEMATIC_ALIASES: dict[str, tuple[str, ...]] = {
    "x": ("x", "k1"),
    "Q2": ("Q2", "q2", "k2"),
    "y": ("y", "k3"),
}


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset entry of a runcard: ``{dataset: NAME, variant: V, frac: F, cfac: [...]}``."""

    name: str
    variant: str | None = None
    frac: float = 0.75
    cfac: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommonData:
    """Central values, kinematics and uncertainties of one dataset (arrays are read-only).

    ``indices`` are the original 0-based point indices still present (after cuts); ``stat`` and
    ``sys`` are absolute, ``sys`` has shape ``(ndata, nsys)`` with one ``sys_treatment`` ("ADD" or
    "MULT") and one ``sys_names`` entry per column. ``kinematics`` maps "x", "Q2" and "y" to
    ``(ndata,)`` arrays (``y`` is NaN where the dataset does not give it, e.g. for g1 data).
    ``cfactor`` ``(ndata,)`` is the product of the C-factors asked for, which multiply the
    theory predictions; None when none were asked for.
    """

    name: str
    variant: str | None
    process_type: str
    indices: np.ndarray
    kinematics: dict[str, np.ndarray]
    central: np.ndarray
    stat: np.ndarray
    sys: np.ndarray
    sys_treatment: tuple[str, ...]
    sys_names: tuple[str, ...]
    cfactor: np.ndarray | None = field(default=None)

    @property
    def ndata(self) -> int:
        """Number of data points."""
        return len(self.central)

    def select(self, keep: np.ndarray) -> CommonData:
        """The same dataset restricted to ``keep``: a boolean mask ``(ndata,)`` or indices."""
        keep = np.asarray(keep)
        return CommonData(
            name=self.name,
            variant=self.variant,
            process_type=self.process_type,
            indices=_frozen(self.indices[keep]),
            kinematics={k: _frozen(v[keep]) for k, v in self.kinematics.items()},
            central=_frozen(self.central[keep]),
            stat=_frozen(self.stat[keep]),
            sys=_frozen(self.sys[keep]),
            sys_treatment=self.sys_treatment,
            sys_names=self.sys_names,
            cfactor=None if self.cfactor is None else _frozen(self.cfactor[keep]),
        )

    def with_central(self, central: np.ndarray) -> CommonData:
        """The same dataset measuring ``central`` instead (closure tests' fake data): additive
        uncertainties keep their size, multiplicative (MULT) ones their size relative to the
        value, as an experiment quotes them."""
        central = np.asarray(central, dtype=float)
        ratio = np.divide(central, self.central, out=np.ones_like(central), where=self.central != 0)
        mult = np.array([t == "MULT" for t in self.sys_treatment], dtype=bool)
        sys = np.where(mult[None, :], self.sys * ratio[:, None], self.sys)
        return replace(self, central=_frozen(central), sys=_frozen(sys))


def available_datasets() -> list[str]:
    """Names of all DIS datasets shipped with nnpdf-data (``<setname>_<observable>``), sorted."""
    names = []
    for metadata_file in sorted(_commondata_root().glob("*/metadata.yaml")):
        try:
            metadata = _read_yaml(metadata_file)
        except DataError:
            continue  # a broken file of a (non-DIS) set must not hide the others
        if metadata["setname"].startswith("NNPDF_"):
            continue  # positivity, integrability and other NNPDF pseudo-observables
        for observable in metadata.get("implemented_observables", []):
            if str(observable.get("process_type", "")).upper().startswith("DIS"):
                names.append(f"{metadata['setname']}_{observable['observable_name']}")
    return names


def load_commondata(spec: DatasetSpec) -> CommonData:
    """Read one dataset (with its variant and C-factors) from nnpdf-data; no cuts applied.

    Raises
    ------
    DataError
        unknown dataset (close matches listed) or variant (existing ones listed), a dataset
        that is not DIS or whose files are inconsistent, or a C-factor file that does not exist.
    """
    metadata = check_dataset(spec)
    name = f"{metadata.setname}_{metadata.observable_name}"
    process_type = str(metadata.process_type)
    ndata = metadata.ndata
    central = np.asarray(_read_yaml(metadata.path_data_central)["data_central"], dtype=float)
    _check_length(central, ndata, metadata.path_data_central)
    stat, sys, treatments, names = _read_uncertainties(metadata.paths_uncertainties, ndata)
    return CommonData(
        name=name,
        variant=spec.variant,
        process_type=process_type,
        indices=_frozen(np.arange(ndata)),
        kinematics=_read_kinematics(
            metadata.path_kinematics, ndata, process_type.upper().startswith("DIS")
        ),
        central=_frozen(central),
        stat=_frozen(stat),
        sys=_frozen(sys),
        sys_treatment=treatments,
        sys_names=names,
        cfactor=_read_cfactors(spec.cfac, metadata, ndata) if spec.cfac else None,
    )


def check_dataset(spec: DatasetSpec) -> ObservableMetaData:
    """``spec``'s metadata (variant applied), read without its data: the checks of
    :func:`load_commondata` on the name and the variant. Any process is read: whether the
    theory can predict it (DIS, or hadronic with two proton PDFs) is the theory's to say.

    Raises
    ------
    DataError
        as :func:`load_commondata` does for those.
    """
    return _observable_metadata(spec)


def _commondata_root() -> Path:
    return Path(nnpdf_data.__file__).parent / "commondata"


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array)
    array.setflags(write=False)
    return array


def _read_yaml(path: Path) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as error:
        first_line = str(error).splitlines()[0]
        raise DataError(f"cannot read {path}: {first_line}; reinstall nnpdf-data") from error


def _check_length(values: np.ndarray | list, ndata: int, path: Path) -> None:
    if len(values) != ndata:
        raise DataError(f"{path} has {len(values)} points but its metadata says ndata={ndata}")


def _observable_metadata(spec: DatasetSpec) -> ObservableMetaData:
    """nnpdf-data's ``ObservableMetaData`` of ``spec`` with its variant applied."""
    setname, _, observable = spec.name.rpartition("_")
    metadata_file = _commondata_root() / setname / "metadata.yaml"
    if not setname or not metadata_file.exists():
        raise DataError(_unknown_dataset_message(spec.name))
    try:
        metadata = nnpdf_data.parse_new_metadata(metadata_file, observable)
    except ValidationError as error:
        raise DataError(f"cannot parse {metadata_file}: {str(error).splitlines()[0]}") from error
    except ValueError as error:  # the observable does not exist in that set
        raise DataError(_unknown_dataset_message(spec.name)) from error
    variants = sorted(metadata.variants or {})
    if spec.variant is None:
        if not metadata.data_uncertainties:
            raise DataError(
                f"dataset {spec.name} needs a variant (it has no default uncertainties): "
                f"set `variant:` to one of {variants}"
            )
        return metadata
    if spec.variant not in variants:
        raise DataError(
            f"dataset {spec.name} has no variant {spec.variant!r}; "
            f"its variants are {variants or 'none (leave `variant` out)'}"
        )
    return metadata.apply_variant(spec.variant)


def _unknown_dataset_message(name: str) -> str:
    legacy = legacy_to_new_mapping.get(name)
    if legacy is not None:
        variant = f", variant: {legacy['variant']}" if legacy.get("variant") else ""
        return (
            f"unknown dataset {name!r}: that is an old NNPDF name, "
            f"write {{dataset: {legacy['dataset']}{variant}}}"
        )
    matches = difflib.get_close_matches(name.upper(), available_datasets(), n=3, cutoff=0.6)
    hint = f"close matches: {', '.join(matches)}" if matches else "no close match"
    return (
        f"unknown dataset {name!r} ({hint}); names are <setname>_<observable> from "
        f"nnpdf-data's commondata, listed by n3fit_gpu.physics.commondata.available_datasets()"
    )


def _read_uncertainties(
    paths: list[Path], ndata: int
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """(stat, sys, treatments, names) from the uncertainty files of one dataset.

    Columns called "stat" are the statistical uncertainty (summed in quadrature if several);
    every other column is a systematic.
    """
    stat_squared = np.zeros(ndata)
    columns, treatments, names = [], [], []
    for path in paths:
        content = _read_yaml(path)
        bins = content["bins"]
        _check_length(bins, ndata, path)
        for key, definition in content["definitions"].items():
            values = np.array([b[key] for b in bins], dtype=float)  # null -> NaN
            if key.lower() == "stat":
                stat_squared += values**2
                continue
            columns.append(values)
            treatments.append(definition["treatment"])
            names.append(definition["type"])
    sys = np.stack(columns, axis=1) if columns else np.zeros((ndata, 0))
    return np.sqrt(stat_squared), sys, tuple(treatments), tuple(names)


def _read_kinematics(path: Path, ndata: int, dis: bool = True) -> dict[str, np.ndarray]:
    """DIS: x, Q2 and y per point (bin midpoints; y is NaN when the file does not give it).
    Other processes: every variable of the file by its own name (e.g. y, M2, sqrts)."""
    bins = _read_yaml(path)["bins"]
    _check_length(bins, ndata, path)
    if not dis:
        return {
            name: _frozen(np.asarray([_midpoint(b[name]) for b in bins], dtype=float))
            for name in bins[0]
        }
    kinematics = {}
    for variable, aliases in _KINEMATIC_ALIASES.items():
        label = next((a for a in aliases if a in bins[0]), None)
        if label is None and variable != "y":
            raise DataError(f"{path} has no {variable} (variables: {sorted(bins[0])})")
        values = np.full(ndata, np.nan) if label is None else [_midpoint(b[label]) for b in bins]
        kinematics[variable] = _frozen(np.asarray(values, dtype=float))
    return kinematics


def _midpoint(entry: dict) -> float:
    if entry.get("mid") is not None:
        return float(entry["mid"])
    return 0.5 * (float(entry["min"]) + float(entry["max"]))


def _read_cfactors(cfac: tuple[str, ...], metadata: ObservableMetaData, ndata: int) -> np.ndarray:
    """Product of the C-factors named in ``cfac``, one value per point ``(ndata,)``.

    nnpdf-data ships C-factor files per FK table, ``cfactors/CF_<cfac>_<fktable>.dat``; a
    dataset whose prediction is one FK operand (operation NULL) gets its tables' files joined.
    """
    name = f"{metadata.setname}_{metadata.observable_name}"
    theory = metadata.theory
    operation = "none" if theory is None else theory.operation
    if theory is None or operation not in ("NULL", "NONE") or len(theory.FK_tables) != 1:
        raise DataError(
            f"cfac is not supported yet for {name} (theory operation {operation}); "
            "remove `cfac` from its runcard entry"
        )
    product = np.ones(ndata)
    for label in cfac:
        paths = [
            Path(nnpdf_data.CFACTOR_PATH) / f"CF_{label}_{fk}.dat" for fk in theory.FK_tables[0]
        ]
        missing = [path.name for path in paths if not path.exists()]
        if missing:
            raise DataError(
                f"no C-factor {label!r} for {name}: {', '.join(missing)} not in nnpdf-data; "
                "cfac is only supported for the files shipped in nnpdf_data/cfactors"
            )
        values = np.concatenate([_read_cfactor_file(path) for path in paths])
        _check_length(values, ndata, paths[0])
        product *= values
    return _frozen(product)


def _read_cfactor_file(path: Path) -> np.ndarray:
    """First column of a C-factor file, after its header (closed by a line of asterisks)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    stars = [i for i, line in enumerate(lines) if line.startswith("*")]
    rows = [line.split() for line in lines[stars[-1] + 1 if stars else 0 :] if line.strip()]
    return np.array([float(row[0]) for row in rows])
