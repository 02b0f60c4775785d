"""An NNPDF4.0-size fitting problem for the benchmarks: real DIS data, synthetic hadronic data.

NNPDF4.0 fits 4,618 points, about half of them hadronic. No NNPDF theory can be downloaded
here, so this problem (:func:`nnpdf40_problem`) takes:

- **DIS, real** (2,422 points): the NNPDF4.0 DIS sets of ``runcards/nnpdf40_dis.yml`` (NMC,
  SLAC, BCDMS, CHORUS, HERA I+II at 318 GeV), their nnpdf-data uncertainties and the FK tables
  shipped with ``n3fit_gpu_dis_nlo``; the three lower-energy HERA NC sets are left out to keep
  the NNPDF4.0 total.
- **Hadronic, synthetic** (2,250 points, :data:`FAMILIES`): one dataset per family of
  NNPDF4.0's hadronic data, with that family's size and an FK table as sparse as NNPDF's: the
  channels (flavour pairs of our 9-flavour basis, at most 45) and, point by point, the x
  nodes of the theory's 50-node grid a real table fills (:func:`synthetic_kernel`), from
  Born kinematics drawn in the family's range (:data:`FAMILIES`). Its central values are
  the predictions of the theory's t0 PDF, fluctuated by the uncertainties (2% uncorrelated,
  two 2% systematics correlated within the dataset, a 1.5% luminosity), so the fit starts
  near χ²/point = 1 as a real one does.

The synthetic part is for timing: its values are made up, its cost (points, channels, x box,
correlations) is that of real data. The Born ranges give the smallest x of each family as in
the data (fixed-target Drell–Yan ~1e-2, Tevatron ~2e-3, LHCb forward W/Z ~6e-5); the channel
counts assume quark-initiated processes fill 36 of the 45 pairs, gluon-initiated ones all 45.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DIS_RUNCARD = ROOT / "runcards" / "nnpdf40_dis.yml"
DIS_LEFT_OUT = (
    "HERA_NC_225GEV_EP-SIGMARED",
    "HERA_NC_251GEV_EP-SIGMARED",
    "HERA_NC_300GEV_EP-SIGMARED",
)


@dataclass(frozen=True)
class Family:
    """A synthetic hadronic dataset: its size, the range of its points' Born √τ = √(x1 x2)
    (log-uniform), its largest |rapidity| and its number of flavour channels (of 45)."""

    name: str
    points: int
    sqrt_tau: tuple[float, float]
    max_y: float
    channels: int
    process_type: str


FAMILIES = (
    Family("SYNTH_FT_DY", 190, (0.10, 0.39), 0.8, 36, "DYP"),  # E605, E866: M 4-15 GeV, 38.8 GeV
    Family("SYNTH_TEVATRON_WZ", 110, (0.041, 0.047), 3.0, 36, "EWK_RAP"),  # CDF, D0 W, Z
    Family("SYNTH_LHC_WZ_RAPIDITY", 600, (0.005, 0.015), 4.5, 36, "EWK_RAP"),  # ATLAS CMS LHCb
    Family("SYNTH_LHC_Z_PT", 260, (0.013, 0.23), 2.4, 45, "EWK_PT"),  # 8 TeV, pT 10-900 GeV
    Family("SYNTH_LHC_JETS", 600, (0.015, 0.7), 3.0, 45, "JET"),  # jets, dijets 7-13 TeV
    Family("SYNTH_LHC_TTBAR", 80, (0.027, 0.2), 2.5, 45, "HQP"),  # total, differential
    Family("SYNTH_LHC_OTHER", 410, (0.005, 0.1), 2.5, 45, "PHT"),  # W+jet, photon, single top
)


def born_x(family: Family, rng: np.random.Generator) -> np.ndarray:
    """``(points, 2)`` Born momentum fractions x1,2 = √τ e^(±y) (redrawn until both < 1)."""
    out = np.empty((0, 2))
    while len(out) < family.points:
        sqrt_tau = np.exp(rng.uniform(*np.log(family.sqrt_tau), family.points))
        y = rng.uniform(-family.max_y, family.max_y, family.points)
        x = sqrt_tau[:, None] * np.exp(np.stack([y, -y], axis=1))
        out = np.concatenate([out, x[np.all(x < 1, axis=1)]])
    return out[: family.points]


def synthetic_kernel(family: Family, xgrid: np.ndarray, seed: int):
    """A hadronic :class:`~n3fit_gpu.physics.observables.hadronic.HadronicKernel` of
    ``family`` for x f on ``xgrid``, built in its channel-sparse layout directly.

    Point n with Born x1, x2 has weight on x_i ≥ x1, x_j ≥ x2 (evolution moves a parton to
    smaller x only), from the grid node below the Born x on (interpolation), and on the mirror
    region, since a channel (a, b) holds (b, a) too: the support of a real table (our E866
    table, NNPDF's). Inside it the weight falls as (x_born / x)^0.7.
    """
    from n3fit_gpu.physics.channel_convolution import ChannelPlan
    from n3fit_gpu.physics.observables.hadronic import HadronicKernel

    rng = np.random.default_rng(seed)
    pairs = np.array([(a, b) for a in range(9) for b in range(a, 9)])
    # Σ and g (basis 0, 1) pairs always; the others drawn
    core = np.flatnonzero(np.all(pairs < 2, axis=1))
    rest = rng.permutation(np.setdiff1d(np.arange(len(pairs)), core))
    channels = pairs[np.sort(np.concatenate([core, rest[: family.channels - core.size]]))]
    weights = np.where(np.all(channels < 2, axis=1), 1.0, rng.normal(0.0, 0.3, len(channels)))
    born = born_x(family, rng)
    first = np.maximum(np.searchsorted(xgrid, born) - 1, 0)  # (n, 2): first node with weight
    lo = int(first.min())
    nodes = np.arange(lo, xgrid.size)
    profile = [
        np.where(nodes[None, :] >= first[:, k, None], (born[:, k, None] / xgrid[nodes]) ** 0.7, 0)
        for k in (0, 1)
    ]
    mirror = np.einsum("ni,nj->nij", profile[0], profile[1])
    support = mirror + mirror.transpose(0, 2, 1)
    matrix = np.einsum("c,nij->cijn", weights, support).reshape(-1, family.points)
    plan = ChannelPlan(channels[:, 0], channels[:, 1], lo, xgrid.size, matrix)
    return HadronicKernel.from_plan(plan, np.arange(family.points))


def synthetic_commondata(family: Family, prediction: np.ndarray, seed: int):
    """Data of ``family`` around ``prediction`` ``(n,)`` with its uncertainties (see the
    module docstring; the luminosity is MULT), drawn once as real data would be."""
    from n3fit_gpu.physics.commondata import CommonData

    rng = np.random.default_rng(seed)
    scale = np.abs(prediction)
    stat = 0.02 * scale
    sys = np.stack(
        [0.02 * scale * rng.choice([-1.0, 1.0], scale.size), 0.02 * scale, 0.015 * scale], axis=1
    )
    shift = stat * rng.standard_normal(scale.size) + sys @ rng.standard_normal(3)
    n = scale.size
    return CommonData(
        name=family.name,
        variant=None,
        process_type=family.process_type,
        indices=np.arange(n),
        kinematics={"x": np.full(n, np.nan), "Q2": np.full(n, np.nan), "y": np.full(n, np.nan)},
        central=prediction + shift,
        stat=stat,
        sys=sys,
        sys_treatment=("ADD", "ADD", "MULT"),
        sys_names=("CORR", "CORR", f"{family.name}_LUMI"),
    )


def nnpdf40_problem(replicas: int, card=None):
    """``(card, theory, data)`` of the NNPDF4.0-size problem for replicas ``1..replicas``
    (``card``: the runcard to use, default ``runcards/nnpdf40_dis.yml``)."""
    from n3fit_gpu.config import load_runcard
    from n3fit_gpu.physics.fit_data import assemble_fit_data, load_fitted_datasets, t0_predictions
    from n3fit_gpu.physics.observables.predict import predict
    from n3fit_gpu.physics.observables.protocol import Observable
    from n3fit_gpu.physics.theory_source import load_card_theory

    card = load_runcard(DIS_RUNCARD) if card is None else card
    inputs = [e for e in card.dataset_inputs if e.dataset not in DIS_LEFT_OUT]
    card = card.model_copy(update={"dataset_inputs": inputs})
    theory = load_card_theory(card, None)
    datasets, observables = load_fitted_datasets(card, theory)
    t0 = t0_predictions(card, theory, observables)
    t0_xf = theory.t0_xf()  # (9, nx)
    hadronic_data, hadronic_obs, hadronic_t0 = [], [], []
    for k, family in enumerate(FAMILIES):
        kernel = synthetic_kernel(family, theory.xgrid, seed=k)
        obs = Observable(family.name, "NULL", ((kernel,),), np.arange(family.points))
        prediction = predict(obs, t0_xf)
        hadronic_data.append(synthetic_commondata(family, prediction, seed=100 + k))
        hadronic_obs.append(obs)
        hadronic_t0.append(prediction)
    data = assemble_fit_data(
        card,
        [*datasets, *hadronic_data],
        [*observables, *hadronic_obs],
        [e.frac for e in inputs] + [0.75] * len(FAMILIES),
        [*t0, *hadronic_t0],
        list(range(1, replicas + 1)),
    )
    return card, theory, data
