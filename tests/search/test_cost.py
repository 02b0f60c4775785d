"""CostMeter on this machine, on a fake RAPL tree (subzones, wraparound) and a fake NVML;
split_cost and sum_costs against hand sums."""

import json
import subprocess
import sys
import time
import types

import pytest

from n3fit_gpu.search.cost import CostMeter, split_cost, sum_costs


def test_meter_measures_wall_and_cpu_seconds():
    with CostMeter() as meter:
        time.sleep(0.05)
        end = time.process_time() + 0.05
        while time.process_time() < end:
            pass
    cost = meter.result(replica_epochs=7)
    assert cost["wall_s"] >= 0.1 and cost["cpu_s"] >= 0.05
    assert cost["replica_epochs"] == 7


def test_meter_on_this_machine_is_consistent_and_plain_json():
    with CostMeter() as meter:
        sum(range(10**5))
    cost = meter.result(0)
    assert json.loads(json.dumps(cost)) == cost
    assert set(cost) == {"wall_s", "cpu_s", "device_s", "device", "replica_epochs",
                         "energy_j", "energy_sources"}  # fmt: skip
    if cost["energy_sources"]:
        assert isinstance(cost["energy_j"], float) and cost["energy_j"] >= 0
        assert all(s.startswith(("rapl:", "nvml:")) for s in cost["energy_sources"])
    else:
        assert cost["energy_j"] is None
    expected = cost["cpu_s"] if cost["device"] == "cpu" else cost["wall_s"]
    assert cost["device_s"] == expected


def test_result_needs_a_finished_block():
    with pytest.raises(RuntimeError, match="finished"):
        CostMeter().result(1)


def _zone(root, name, label, energy, max_range=10_000_000):
    zone = root / name
    zone.mkdir()
    (zone / "name").write_text(f"{label}\n")
    (zone / "energy_uj").write_text(f"{energy}\n")
    (zone / "max_energy_range_uj").write_text(f"{max_range}\n")
    return zone


def test_rapl_counts_package_zones_once_and_undoes_wraparound(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # no NVML, whatever this machine has
    (tmp_path / "intel-rapl").mkdir()  # the control type: no counter
    package_0 = _zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    package_1 = _zone(tmp_path, "intel-rapl:1", "package-1", 9_000_000)
    core = _zone(tmp_path, "intel-rapl:0:0", "core", 1_000)  # a subzone: part of package-0
    unreadable = _zone(tmp_path, "intel-rapl:2", "package-2", 5)
    (unreadable / "max_energy_range_uj").unlink()
    with CostMeter(powercap_root=tmp_path) as meter:
        (package_0 / "energy_uj").write_text("3500000\n")  # +2.5 J
        (package_1 / "energy_uj").write_text("500000\n")  # wrapped: +1.5 J
        (core / "energy_uj").write_text("9000000\n")
    cost = meter.result(1)
    assert cost["energy_sources"] == ["rapl:package-0", "rapl:package-1"]
    assert cost["energy_j"] == 4.0
    assert cost["device"] == "cpu" and cost["device_s"] == cost["cpu_s"]


def test_no_readable_source_gives_no_energy(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    (tmp_path / "intel-rapl:0").mkdir()  # no energy_uj, as without permission
    with CostMeter(powercap_root=tmp_path / "absent") as meter:
        pass
    assert meter.result(1)["energy_j"] is None and meter.result(1)["energy_sources"] == []
    with CostMeter(powercap_root=tmp_path) as meter:
        pass
    assert meter.result(1)["energy_j"] is None


def fake_pynvml(energies_mj: dict[int, list[int]], fail_init: bool = False) -> types.ModuleType:
    """Two GPUs; each energy reading pops the next value of its list (an empty list: error)."""

    class NVMLError(Exception):
        pass

    def energy(handle):
        if not energies_mj[handle]:
            raise NVMLError("Not Supported")
        return energies_mj[handle].pop(0)

    def init():
        if fail_init:
            raise NVMLError("Driver Not Loaded")

    nvml = types.ModuleType("pynvml")
    nvml.NVMLError = NVMLError
    nvml.nvmlInit = init
    nvml.nvmlShutdown = lambda: None
    nvml.nvmlDeviceGetCount = lambda: 2
    nvml.nvmlDeviceGetHandleByIndex = lambda i: i
    nvml.nvmlDeviceGetName = lambda h: b"Fake GPU"  # bytes, as old pynvml releases
    nvml.nvmlDeviceGetUUID = lambda h: f"GPU-{h}0000000-aaaa"
    nvml.nvmlDeviceGetTotalEnergyConsumption = energy
    return nvml


def test_nvml_energy_of_the_visible_gpus(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml({0: [], 1: [5_000, 8_250]}))
    with CostMeter(powercap_root=tmp_path) as meter:
        pass
    cost = meter.result(3)
    assert cost["device"] == "2x Fake GPU" and cost["device_s"] == cost["wall_s"]
    assert cost["energy_j"] == 3.25 and cost["energy_sources"] == ["nvml:1:Fake GPU"]

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-10000000")  # a UUID prefix: GPU 1 only
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml({0: [1, 2], 1: [0, 1_000]}))
    with CostMeter(powercap_root=tmp_path) as meter:
        pass
    cost = meter.result(3)
    assert cost["device"] == "Fake GPU" and cost["energy_j"] == 1.0


def test_nvml_that_fails_to_start_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml({}, fail_init=True))
    with CostMeter(powercap_root=tmp_path) as meter:
        pass
    cost = meter.result(0)
    assert cost["device"] == "cpu" and cost["energy_j"] is None


COST = {
    "wall_s": 12.0,
    "cpu_s": 30.0,
    "device_s": 12.0,
    "device": "Fake GPU",
    "replica_epochs": 400,
    "energy_j": 900.0,
    "energy_sources": ["nvml:0:Fake GPU"],
}


def test_split_cost_in_proportion_to_replica_epochs():
    parts = split_cost(COST, [100, 300])
    assert [(p["wall_s"], p["cpu_s"], p["energy_j"]) for p in parts] == [
        (3.0, 7.5, 225.0),
        (9.0, 22.5, 675.0),
    ]
    assert [(p["replica_epochs"], p["shared_with"], p["device"]) for p in parts] == [
        (100, 2, "Fake GPU"),
        (300, 2, "Fake GPU"),
    ]
    totals = sum_costs(split_cost(COST, [17, 5, 31]))
    for key in ("wall_s", "cpu_s", "device_s", "energy_j"):
        assert totals[key] == pytest.approx(COST[key], rel=1e-14)
    assert totals["replica_epochs"] == 53


def test_split_cost_equal_shares_without_replica_epochs_and_keeps_missing_energy():
    parts = split_cost({**COST, "energy_j": None, "energy_sources": []}, [0, 0, 0])
    assert [p["wall_s"] for p in parts] == [4.0, 4.0, 4.0]
    assert all(p["energy_j"] is None and p["shared_with"] == 3 for p in parts)
    with pytest.raises(ValueError, match="replica-epochs"):
        split_cost(COST, [])
    with pytest.raises(ValueError, match="replica-epochs"):
        split_cost(COST, [3, -1])


def test_sum_costs_by_hand():
    cpu_only = {"wall_s": 2.5, "cpu_s": 4.0, "device_s": 4.0, "device": "cpu",
                "replica_epochs": 50, "energy_j": None, "energy_sources": []}  # fmt: skip
    rapl = {**cpu_only, "energy_j": 100.0, "energy_sources": ["rapl:package-0"]}
    totals = sum_costs([COST, None, cpu_only, rapl])
    assert totals == {
        "trials": 4,
        "trials_without_cost": 1,
        "wall_s": 17.0,
        "cpu_s": 38.0,
        "device_s": 20.0,
        "replica_epochs": 500,
        "devices": ["Fake GPU", "cpu"],
        "energy_j": 1000.0,
        "trials_without_energy": 1,
        "energy_sources": ["nvml:0:Fake GPU", "rapl:package-0"],
    }
    assert sum_costs([None, cpu_only])["energy_j"] is None
    assert sum_costs([])["trials"] == 0


def test_cost_imports_neither_keras_nor_nvml():
    check = (
        "import sys, n3fit_gpu.search.cost; bad = [m for m in sys.modules if m.split('.')[0] in "
        "('keras', 'tensorflow', 'jax', 'torch', 'pynvml') or m.startswith('n3fit_gpu.physics')]"
        "; print(bad); sys.exit(bool(bad))"
    )
    run = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
