"""The scan machinery is problem-agnostic: importing it loads neither Keras nor the physics."""

import subprocess
import sys

MODULES = (
    "space", "statistics", "kfold", "store", "claims", "driver", "worker", "local", "jsonable",
    "errors", "selection", "cost", "halving", "blocks",
)  # fmt: skip


def test_search_imports_neither_keras_nor_physics():
    imports = "; ".join(f"import n3fit_gpu.search.{name}" for name in MODULES)
    check = (
        "import sys; bad = [m for m in sys.modules if m.split('.')[0] in "
        "('keras', 'tensorflow', 'jax', 'torch') or m.startswith('n3fit_gpu.physics')]; "
        "print(bad); sys.exit(bool(bad))"
    )
    run = subprocess.run(
        [sys.executable, "-c", f"{imports}; {check}"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
