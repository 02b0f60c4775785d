#!/usr/bin/env bash
# A virtualenv with NNPDF's own tools (nnpdf 4.1.5: validphys, postfit, vp-hyperoptplot,
# evolven3fit; pdfflow and lhapdf-management to read LHAPDF sets without LHAPDF) for the
# interop tests (tests/interop). Prints the venv's python; ~5 min and ~2 GB the first time.
#   export N3FIT_NNPDF_PYTHON=$(scripts/nnpdf_venv.sh /tmp/nnpdf-venv)
set -euo pipefail
venv="${1:-.nnpdf-venv}"
[ -x "$venv/bin/python" ] || python -m venv "$venv" >&2
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "nnpdf==4.1.5" pdfflow lhapdf-management >&2
echo "$(cd "$venv" && pwd)/bin/python"
