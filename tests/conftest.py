"""Test-wide settings: the Keras backend comes from $KERAS_BACKEND (TensorFlow by default),
chosen as the CLI chooses it (on JAX: one CPU device per core, replicas split across them);
numba (eko, in the theory tests) caches to the builder's own folder."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# eko in the theory tests caches its numba kernels where scripts/build_theory.py does: a
# folder of our own, compiled without eko's N3LO matching (see skip_n3lo_matching there).
_spec = importlib.util.spec_from_file_location(
    "build_theory", Path(__file__).resolve().parents[1] / "scripts" / "build_theory.py"
)
_builder = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_builder)
os.environ["NUMBA_CACHE_DIR"] = str(_builder.NUMBA_CACHE)

from n3fit_gpu.ensemble.backend import select_backend, set_precision  # noqa: E402

select_backend(os.environ["KERAS_BACKEND"])

import keras  # noqa: E402
import pytest  # noqa: E402


def _precision(double: bool):
    previous = keras.config.floatx()
    set_precision(double)
    yield
    keras.config.set_floatx(previous)


@pytest.fixture
def float64():
    """Run a test in float64, restoring Keras' float type afterwards."""
    yield from _precision(True)


@pytest.fixture
def float32():
    """Run a test in float32 as a fit does (:func:`set_precision`), restoring Keras' float type."""
    yield from _precision(False)


@pytest.fixture(scope="session")
def jax_only_env():
    """The environment of a subprocess that runs as on our GPU machines: the JAX backend, and
    TensorFlow not importable (``tests/jax_only/sitecustomize.py``)."""
    pytest.importorskip("jax")
    blocker = Path(__file__).resolve().parent / "jax_only"
    path = os.pathsep.join(p for p in (str(blocker), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": path}
    probe = subprocess.run(
        [sys.executable, "-c", "import tensorflow"], env=env, stderr=subprocess.DEVNULL
    )
    assert probe.returncode != 0, "tests/jax_only did not hide TensorFlow"
    return env


@pytest.fixture(scope="session")
def nnpdf_root(tmp_path_factory):
    """A folder holding ``theory_40000000/`` in NNPDF's layout: the shipped theory's DIS tables
    as PineAPPL FK tables, plus a hadronic dataset and positivity set
    (:mod:`tests.physics.nnpdf_folders`)."""
    pytest.importorskip("pineappl", reason="needs the [theory] extra (pineappl)")
    from tests.physics.nnpdf_folders import add_hadronic, folder_from_shipped

    root = tmp_path_factory.mktemp("nnpdf_theories")
    add_hadronic(folder_from_shipped(root))
    return root
