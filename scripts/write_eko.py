"""Write a theory's LHAPDF evolution as an EKO, for NNPDF's ``evolven3fit evolve FIT --load EKO``.

Needs eko (the [theory] extra), of the version that will read the file: NNPDF's evolven3fit
reads the EKO with its own eko, so run this with the python of NNPDF's virtualenv (it needs only
numpy and eko from there, and this repository on PYTHONPATH), or give that python with
``--nnpdf-python`` and the versions are compared first. Usage, from the repository root::

    PYTHONPATH=. /tmp/nnpdf-venv/bin/python scripts/write_eko.py \
        --theory n3fit_gpu/physics/theories/n3fit_gpu_dis_nlo --output eko.tar
    python scripts/write_eko.py --theory DIR --output eko.tar --nnpdf-python VENV/bin/python

The EKO holds our operator (theory.json "evolution": the 49 LHAPDF Q knots, nf by block) on its
own x grid (``xgrid_in``, 1e-9..1), in eko's conventions: flavour basis (eko's 14 PDG ids) on
both sides, acting on f (not x f), mu0 = Q0. The cards are those the builder gives eko
(``build_theory.eko_cards``). evolven3fit then reinterpolates it to the exportgrid's 196 x
points on input and output, with eko's own interpolation, as it does with any EKO.
"""

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_theory import EKO_PIDS, eko_cards  # noqa: E402

from n3fit_gpu.errors import TheoryError  # noqa: E402
from n3fit_gpu.physics.theory import Q0_PIDS, Theory, evolution_rotation, load_theory  # noqa: E402


def eko_operators(theory: Theory) -> tuple[np.ndarray, list[tuple[float, int]], np.ndarray]:
    """Operators ``(nq, 14, nx, 14, nx)`` on f in eko's flavour basis, their (Q^2, nf), x grid."""
    evolution = theory.evolution()
    if evolution.output_rotation is None:
        raise TheoryError(
            f"theory {theory.theoryid} has the old LHAPDF evolution (no own x grid); rebuild it "
            f"with `python scripts/build_theory.py --evolution-only --output {theory.path}`"
        )
    if len(evolution.q2_subgrids) != 2:
        raise TheoryError("the EKO writer expects two Q blocks (nf = 4 and 5)")
    x = np.asarray(evolution.xgrid_in, dtype=float)
    flavours_out = np.einsum("pc,qcyfx->qpyfx", evolution.output_rotation, evolution.operator)
    # x f_out = O (x f_in in the basis) = O R (x f_in by flavour); on f: times x_in / x_out
    on_flavours = np.einsum("qpyfx,fk->qpykx", flavours_out, evolution_rotation(theory.basis))
    on_flavours *= x[None, None, None, None, :] / x[None, None, :, None, None]
    placed = np.zeros((*on_flavours.shape[:3], len(EKO_PIDS), len(x)))
    placed[:, :, :, [EKO_PIDS.index(pid) for pid in Q0_PIDS], :] = on_flavours
    operators = np.zeros((len(evolution.q2), len(EKO_PIDS), len(x), len(EKO_PIDS), len(x)))
    operators[:, [EKO_PIDS.index(pid) for pid in evolution.pids]] = placed
    nfs = [nf for nf, grid in zip((4, 5), evolution.q2_subgrids) for _ in grid]
    return operators, list(zip(evolution.q2.tolist(), nfs)), x


def check_versions(nnpdf_python: Path) -> None:
    """Exit with one line if NNPDF's eko differs from ours (the file format changes with it)."""
    import eko

    try:
        run = subprocess.run(
            [str(nnpdf_python), "-c", "import eko; print(eko.__version__)"],
            capture_output=True,
            text=True,
        )
    except OSError as error:
        sys.exit(
            f"error: cannot run {nnpdf_python} ({error.strerror}); make NNPDF's venv "
            "with scripts/nnpdf_venv.sh and give its bin/python"
        )
    theirs = run.stdout.strip()
    if run.returncode != 0:
        sys.exit(
            f"error: {nnpdf_python} has no eko; give the python of NNPDF's venv "
            "(scripts/nnpdf_venv.sh)"
        )
    if theirs != eko.__version__:
        sys.exit(
            f"error: eko {eko.__version__} here but {theirs} in {nnpdf_python}: write the EKO "
            f"with that python (`{nnpdf_python} scripts/write_eko.py ...`) or install "
            f"eko=={theirs} here"
        )


def write_eko(theory: Theory, path: Path) -> Path:
    """The EKO file at ``path`` (replaced if it exists)."""
    from eko.io.items import Operator
    from eko.io.struct import EKO

    operators, targets, x = eko_operators(theory)
    theory_card, operator_card = eko_cards(theory.theory_card, x, targets)
    path.unlink(missing_ok=True)
    partial = path.with_name(f".partial.{path.name}")  # eko wants a .tar name
    partial.unlink(missing_ok=True)
    with EKO.create(partial) as builder:
        output = builder.load_cards(theory_card, operator_card).build()
        for ep, operator in zip(operator_card.evolgrid, operators):
            output[ep] = Operator(operator=operator)
    partial.rename(path)
    return path


def main(argv=None) -> None:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--theory", type=Path, required=True, help="a theory folder")
    parser.add_argument("--output", type=Path, required=True, help="the EKO file (.tar)")
    parser.add_argument("--nnpdf-python", type=Path, help="NNPDF's venv python: compare eko")
    args = parser.parse_args(argv)
    try:
        import eko  # noqa: F401
    except ImportError:
        sys.exit(
            "error: writing an EKO needs eko: pip install -e '.[theory]' (or run this with "
            "the python of NNPDF's virtualenv, which has it)"
        )
    if args.nnpdf_python:
        check_versions(args.nnpdf_python)
    try:
        write_eko(load_theory(path=args.theory), args.output)
    except TheoryError as error:
        sys.exit(f"error: {error}")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
