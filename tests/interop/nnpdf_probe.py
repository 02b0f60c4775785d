"""Run by the nnpdf virtualenv's Python (NNPDF's own code): read a fit folder and an exported
scan written by n3fit_gpu with validphys and vp-hyperoptplot's readers; print what they read as
JSON on stdout. Usage: python nnpdf_probe.py FIT_FOLDER SCAN_EXPORT_FOLDER"""

import json
import sys
from pathlib import Path

from validphys.core import FitSpec
from validphys.fitdata import fit_code_version, load_fitinfo
from validphys.hyperoptplot import hyperopt_dataframe

fit, scan = Path(sys.argv[1]), Path(sys.argv[2])
replicas = sorted((fit / "nnfit").glob("replica_*"), key=lambda p: int(p.name.split("_")[1]))
infos = [load_fitinfo(path, fit.name) for path in replicas]
versions = fit_code_version(FitSpec(fit.name, fit))
frame, best = hyperopt_dataframe(
    {
        "hyperopt_folder": str(scan),
        "debug": False,
        "filter": [],
        "loss_target": "average",
        "val_multiplier": 0.5,
        "threshold": 10.0,
        "combine": False,
        "autofilter": None,
        "include_failures": True,
    }
)
print(
    json.dumps(
        {
            "fitinfo": [
                {
                    "nite": int(info.nite),
                    "chi2": float(info.chi2),
                    "pos_flag": bool(info.pos_flag),
                    "arclengths": [float(a) for a in info.arclengths],
                    "integnumbers": [float(a) for a in info.integnumbers],
                }
                for info in infos
            ],
            "versions": {str(k): str(v) for k, v in versions.iloc[:, 0].items()},
            "trials": {
                "loss": [float(v) for v in frame["loss"]],
                "hyper_loss_chi2": [float(v) for v in frame["hyper_loss_chi2"]],
                "optimizer": [str(v) for v in frame["optimizer"]],
                "epochs": [int(v) for v in frame["epochs"]],
                "good": [bool(v) for v in frame["good"]],
                "best_loss": float(best["loss"].iloc[0]),
            },
        }
    )
)
