"""n3fit_gpu: fit ensembles of neural-network replicas stacked on one replica axis.

The PDF fit (``n3fit_gpu.physics``) is the first user of problem-agnostic machinery
(``n3fit_gpu.ensemble`` for training, ``n3fit_gpu.search`` for hyperparameter scans).
"""

__version__ = "0.1.0"
