"""E866's χ²/N and dbar/ubar at Q0 of fits with and without E866 (README's table).

    fit runcards/quickstart.yml --backend jax -o output
    fit runcards/dis_dy.yml --backend jax -o output
    python scripts/compare_dis_dy.py output/quickstart output/dis_dy

χ²/N of E866 (experimental covariance, as summary.json: of the replicas' mean PDF, and the
mean over replicas), computed from each fit's selected replicas (``pdf_q0.npz``) with the
E866 tables of theory_90000001; dbar/ubar: median and 68% band (16th-84th percentiles) of the
replicas at x = 0.05, 0.1, 0.2, 0.3 (ln x cubic Hermite between the theory's x nodes).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from n3fit_gpu.config import load_runcard
from n3fit_gpu.outputs.ensemble_report import _chi2_table
from n3fit_gpu.physics.pdf_sets import _interpolate_lnx
from n3fit_gpu.physics.theory import BASIS, Q0_PIDS, evolution_rotation
from n3fit_gpu.physics.theory_source import load_card_theory

E866 = "DYE866_Z0_800GEV_DW_RATIO_PDXSECRATIO"
X = np.array([0.05, 0.1, 0.2, 0.3])
CARD = Path(__file__).resolve().parents[1] / "runcards" / "dis_dy.yml"


def replicas_xf(fit: Path) -> np.ndarray:
    """``(R, nbasis, nx)`` x f at Q0 of the fit's selected replicas."""
    selected = json.loads((fit / "summary.json").read_text())["postfit"]["selected"]
    return np.stack(
        [np.load(fit / "nnfit" / f"replica_{r}" / "pdf_q0.npz")["xf"] for r in selected]
    )


def dbar_over_ubar(xf: np.ndarray, xgrid: np.ndarray) -> np.ndarray:
    """``(R, len(X))`` dbar/ubar of each replica at :data:`X`."""
    flavours = np.linalg.solve(evolution_rotation(BASIS), xf)  # (R, Q0_PIDS, nx)
    dbar, ubar = flavours[:, Q0_PIDS.index(-1)], flavours[:, Q0_PIDS.index(-2)]
    at_x = _interpolate_lnx(xgrid, np.stack([dbar, ubar], axis=1).reshape(-1, len(xgrid)), X,
                            "fit", "x")  # fmt: skip
    at_x = at_x.reshape(len(xf), 2, len(X))
    return at_x[:, 0] / at_x[:, 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fits", nargs="+", type=Path)
    args = parser.parse_args()
    card = load_runcard(CARD)
    card = card.model_copy(
        update={"dataset_inputs": tuple(e for e in card.dataset_inputs if e.dataset == E866)}
    )
    theory = load_card_theory(card)
    for fit in args.fits:
        xf = replicas_xf(fit)
        chi2 = _chi2_table(card, theory, xf)[E866]
        ratio = dbar_over_ubar(xf, theory.xgrid)
        lo, med, hi = np.percentile(ratio, [16, 50, 84], axis=0)
        bands = ", ".join(
            f"x={x:g}: {m:.3f} [{a:.3f}, {b:.3f}]" for x, m, a, b in zip(X, med, lo, hi)
        )
        print(f"{fit.name} ({len(xf)} replicas): E866 chi2/N central {chi2['central']:.2f}, "
              f"replica mean {chi2['replica_mean']:.2f}; dbar/ubar {bands}")  # fmt: skip


if __name__ == "__main__":
    main()
