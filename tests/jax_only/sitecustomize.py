"""Put this folder first on PYTHONPATH to run Python as on our GPU machines: TensorFlow is not
installed there (JAX and PyTorch are). Any import of ``tensorflow`` fails as if it were absent."""

import sys


class _NoTensorFlow:
    """A meta-path finder that refuses ``tensorflow`` and its submodules."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return None


sys.meta_path.insert(0, _NoTensorFlow())
