"""Runcards: the YAML schema of a fit or a scan, and its loader.

``load_runcard(path)`` reads a runcard, checks every key once (types, ranges, names, cross-block
consistency) and returns a frozen :class:`RunCard`; every problem is a
:class:`~n3fit_gpu.errors.RunCardError` whose one-line message names the file, the line, the
dotted key path and the fix. Keys shared with NNPDF's n3fit keep NNPDF's names and meanings.
"""

from n3fit_gpu.config.issues import RunCardIssue, RunCardNotFoundError, RunCardValidationError
from n3fit_gpu.config.loader import load_runcard, parse_runcard
from n3fit_gpu.config.scan_schema import HyperscanConfig, KFold
from n3fit_gpu.config.schema import (
    BasisFlavour,
    ClosureTest,
    DatasetInput,
    Fitting,
    Optimizer,
    Parameters,
    RunCard,
)

__all__ = [
    "BasisFlavour",
    "ClosureTest",
    "DatasetInput",
    "Fitting",
    "HyperscanConfig",
    "KFold",
    "Optimizer",
    "Parameters",
    "RunCard",
    "RunCardIssue",
    "RunCardNotFoundError",
    "RunCardValidationError",
    "load_runcard",
    "parse_runcard",
]
