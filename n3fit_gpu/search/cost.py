"""What a trial cost: wall time, CPU time, device time, replica-epochs and energy where readable.

:class:`CostMeter` measures one block of code (``with CostMeter() as meter: ...``) and gives a
plain-JSON record with :meth:`CostMeter.result`; :func:`split_cost` apportions one measured run
among the K trials stacked in it, :func:`sum_costs` totals the records of a scan.

Sources, each skipped silently where the platform does not expose it:

- wall seconds (``time.perf_counter``) and this process's CPU seconds (``time.process_time``,
  all its threads; child processes are not counted);
- RAPL package energy, Intel and AMD, from ``/sys/class/powercap/intel-rapl:N/energy_uj``:
  top-level zones only (their subzones, cores or DRAM, are parts of the package or reported
  apart, and would be counted twice), the counter's wraparound undone with
  ``max_energy_range_uj``. RAPL measures the whole package, every process on the socket
  included, so on a shared node it overstates one scan's share. Linux ≥ 5.10 makes
  ``energy_uj`` readable by root only unless an administrator opens it;
- NVIDIA GPU energy from NVML (``nvmlDeviceGetTotalEnergyConsumption``, millijoules since the
  driver loaded; Volta and newer), if ``pynvml`` imports (``pip install nvidia-ml-py``, not a
  dependency) and sees a device. Only the GPUs named in ``CUDA_VISIBLE_DEVICES`` (by index or
  UUID; MIG instances are not matched) are read when it is set; all GPUs NVML sees otherwise.

Device time: there is no per-kernel device timer here, so ``device_s`` is the wall time of the
block when NVML sees a GPU (taken to be the device the block ran on) and the CPU time otherwise.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

_PACKAGE_ZONE = re.compile(r"intel-rapl:\d+")  # not intel-rapl:0:0 (subzones)
_SCALED = ("wall_s", "cpu_s", "device_s", "energy_j")


@dataclass
class _RaplZone:
    """One top-level powercap zone: where to read it, its counter range, its first reading."""

    path: Path
    label: str
    max_range_uj: int
    start_uj: int

    def joules(self) -> float:
        """Energy since ``start_uj``, one wraparound of the counter undone."""
        delta = _read_int(self.path / "energy_uj") - self.start_uj
        return (delta + self.max_range_uj if delta < 0 else delta) / 1e6


def _read_int(path: Path) -> int:
    return int(path.read_text().strip())


def _rapl_zones(root: Path) -> list[_RaplZone]:
    """The readable RAPL package zones under ``root``, each with its first reading."""
    zones = []
    paths = sorted(root.glob("intel-rapl:*")) if root.is_dir() else []
    for path in paths:
        if not _PACKAGE_ZONE.fullmatch(path.name):
            continue
        try:
            name = (path / "name").read_text().strip() if (path / "name").is_file() else ""
            zone = _RaplZone(
                path,
                f"rapl:{name or path.name}",
                _read_int(path / "max_energy_range_uj"),
                _read_int(path / "energy_uj"),
            )
        except (OSError, ValueError):  # permission denied (Linux >= 5.10), absent, garbled
            continue
        zones.append(zone)
    return zones


class _NvmlGpus:
    """The GPUs NVML sees (those of ``CUDA_VISIBLE_DEVICES`` if set), with their first reading."""

    def __init__(self) -> None:
        self.nvml: ModuleType | None = None
        self.names: list[str] = []
        self.start_mj: dict[int, int] = {}  # index into names -> first reading
        self.handles: list[Any] = []
        try:
            import pynvml
        except ImportError:
            return
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError:
            return
        self.nvml = pynvml
        try:
            self.handles = _visible_handles(pynvml)
            self.names = [_text(pynvml.nvmlDeviceGetName(h)) for h in self.handles]
        except pynvml.NVMLError:
            self.handles, self.names = [], []
        for i, handle in enumerate(self.handles):
            try:
                self.start_mj[i] = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            except pynvml.NVMLError:  # not supported before Volta, or no permission
                continue

    def stop(self) -> dict[str, float]:
        """Joules per GPU read at start and now, labelled ``nvml:<index>:<name>``; shuts NVML."""
        if self.nvml is None:
            return {}
        joules = {}
        for i, start in self.start_mj.items():
            try:
                end = self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handles[i])
            except self.nvml.NVMLError:
                continue
            joules[f"nvml:{i}:{self.names[i]}"] = (end - start) / 1e3
        try:
            self.nvml.nvmlShutdown()
        except self.nvml.NVMLError:
            pass
        return joules


def _visible_handles(nvml: ModuleType) -> list[Any]:
    """NVML handles of the GPUs of ``CUDA_VISIBLE_DEVICES`` (index or UUID), or of all GPUs."""
    handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return handles
    wanted = [v.strip() for v in visible.split(",") if v.strip()]
    chosen = []
    for index, handle in enumerate(handles):
        uuid = _text(nvml.nvmlDeviceGetUUID(handle))
        if any(w == str(index) or (len(w) > 4 and uuid.startswith(w)) for w in wanted):
            chosen.append(handle)
    return chosen


def _text(value: str | bytes) -> str:
    """NVML strings are ``bytes`` in old ``pynvml`` releases, ``str`` in new ones."""
    return value.decode() if isinstance(value, bytes) else value


def _device_name(names: Sequence[str]) -> str:
    """``cpu``, one GPU's name, ``2x <name>`` or the distinct names joined."""
    if not names:
        return "cpu"
    distinct = sorted(set(names))
    if len(distinct) == 1:
        return distinct[0] if len(names) == 1 else f"{len(names)}x {distinct[0]}"
    return ", ".join(distinct)


class CostMeter:
    """Wall, CPU and device seconds and energy of a ``with`` block.

    Parameters
    ----------
    powercap_root : Path
        where the RAPL zones are (``/sys/class/powercap``); tests point it at a fake tree.

    Examples
    --------
    >>> with CostMeter() as meter:
    ...     train()
    >>> meter.result(replica_epochs=4000)  # doctest: +SKIP
    {'wall_s': 12.5, 'cpu_s': 20.1, 'device_s': 20.1, 'device': 'cpu', ...}
    """

    def __init__(self, powercap_root: Path = Path("/sys/class/powercap")) -> None:
        self.powercap_root = Path(powercap_root)
        self._zones: list[_RaplZone] = []
        self._gpus: _NvmlGpus | None = None
        self._start: tuple[float, float] | None = None
        self._cost: dict[str, Any] | None = None

    def __enter__(self) -> CostMeter:
        self._zones = _rapl_zones(self.powercap_root)
        self._gpus = _NvmlGpus()
        self._cost = None
        self._start = (time.perf_counter(), time.process_time())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        wall_s = time.perf_counter() - self._start[0]
        cpu_s = time.process_time() - self._start[1]
        energy = {}
        for zone in self._zones:
            try:
                energy[zone.label] = zone.joules()
            except (OSError, ValueError):
                continue
        energy.update(self._gpus.stop())
        names = self._gpus.names
        self._cost = {
            "wall_s": wall_s,
            "cpu_s": cpu_s,
            "device_s": wall_s if names else cpu_s,
            "device": _device_name(names),
            "energy_j": sum(energy.values()) if energy else None,
            "energy_sources": sorted(energy),
        }

    def result(self, replica_epochs: int) -> dict[str, Any]:
        """The cost record of the finished block, plain JSON.

        Returns
        -------
        dict
            ``wall_s``, ``cpu_s``, ``device_s`` (floats), ``device`` (``cpu`` or the GPU's
            name), ``replica_epochs``, ``energy_j`` (``None`` where nothing was readable) and
            ``energy_sources`` (``rapl:package-0``, ``nvml:0:<name>``, ...).
        """
        if self._cost is None:
            raise RuntimeError("CostMeter.result() needs a finished `with CostMeter() as m:` block")
        return {**self._cost, "replica_epochs": int(replica_epochs)}


def split_cost(cost: dict[str, Any], replica_epochs: Sequence[int]) -> list[dict[str, Any]]:
    """Apportion the cost of one run among the K trials stacked in it.

    Each trial gets the share ``replica_epochs[i] / sum(replica_epochs)`` (equal shares when
    the sum is 0) of ``wall_s``, ``cpu_s``, ``device_s`` and ``energy_j``, its own
    ``replica_epochs`` and ``shared_with = K``; the shares sum back to ``cost``.
    """
    if not replica_epochs or min(replica_epochs) < 0:
        raise ValueError(
            f"split_cost needs replica-epochs >= 0 of >= 1 trial; got {replica_epochs}"
        )
    total = sum(replica_epochs)
    count = len(replica_epochs)
    shares = [n / total if total else 1 / count for n in replica_epochs]
    split = []
    for share, own in zip(shares, replica_epochs, strict=True):
        part = {**cost, "replica_epochs": int(own), "shared_with": count}
        for key in _SCALED:
            if part.get(key) is not None:
                part[key] = part[key] * share
        split.append(part)
    return split


def sum_costs(costs: Iterable[dict[str, Any] | None]) -> dict[str, Any]:
    """Totals of a scan's cost records; ``None`` records (trials without one) are counted.

    Returns
    -------
    dict
        ``trials``, ``trials_without_cost``, ``wall_s``, ``cpu_s``, ``device_s``,
        ``replica_epochs``, ``devices`` (distinct), ``energy_j`` (``None`` if no trial had
        energy), ``trials_without_energy`` (of those with a record) and ``energy_sources``.
    """
    costs = list(costs)
    known = [c for c in costs if c is not None]
    energies = [c["energy_j"] for c in known if c.get("energy_j") is not None]
    return {
        "trials": len(costs),
        "trials_without_cost": len(costs) - len(known),
        "wall_s": sum(c["wall_s"] for c in known),
        "cpu_s": sum(c["cpu_s"] for c in known),
        "device_s": sum(c["device_s"] for c in known),
        "replica_epochs": sum(int(c["replica_epochs"]) for c in known),
        "devices": sorted({c["device"] for c in known}),
        "energy_j": sum(energies) if energies else None,
        "trials_without_energy": len(known) - len(energies),
        "energy_sources": sorted({s for c in known for s in c.get("energy_sources", [])}),
    }
