"""Test-wide settings: the Keras backend comes from $KERAS_BACKEND (TensorFlow by default)."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

from n3fit_gpu.ensemble.backend import set_precision  # noqa: E402


@pytest.fixture
def float64():
    """Run a test in float64, restoring Keras' float type afterwards."""
    previous = keras.config.floatx()
    set_precision(True)
    yield
    keras.config.set_floatx(previous)
