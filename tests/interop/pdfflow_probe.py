"""Run by the nnpdf virtualenv's Python: read member MEMBER of the LHAPDF set in FOLDER with
pdfflow (an LHAPDF reimplementation in TensorFlow) at the points given as JSON on stdin
({"pids": [...], "x": [...], "q2": [...]}); print x f, (npoints, npid), as JSON on stdout.
Usage: python pdfflow_probe.py FOLDER MEMBER"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import pdfflow  # noqa: E402

folder, member = Path(sys.argv[1]), int(sys.argv[2])
points = json.load(sys.stdin)
pdf = pdfflow.mkPDF(f"{folder.name}/{member}", dirname=str(folder.parent))
values = pdf.py_xfxQ2(
    pdfflow.int_me(points["pids"]),
    pdfflow.float_me(np.asarray(points["x"])),
    pdfflow.float_me(np.asarray(points["q2"])),
)
print(json.dumps(np.asarray(values).tolist()))
