"""LO Drell–Yan (drell_yan.py): kinematics, the two implementations of the formula, the grid.

The grid test needs pineappl (the [theory] extra) and is skipped without it; the rest is numpy.
"""

from pathlib import Path

import nnpdf_data
import numpy as np
import pytest
import yaml
from scipy.integrate import quad

from n3fit_gpu.physics import drell_yan
from n3fit_gpu.physics.theory import load_theory
from n3fit_gpu.physics.toy_pdf import toy_xf_flavour

E866 = Path(nnpdf_data.__file__).parent / "commondata" / "DYE866_Z0_800GEV_DW_RATIO"


def toy_xfx(pid, x):
    x = np.atleast_1d(np.asarray(x, dtype=float))
    return toy_xf_flavour(x).get(pid, np.zeros_like(x))


def e866_kinematics():
    bins = yaml.safe_load((E866 / "kinematics.yaml").read_text())["bins"]
    return tuple(np.array([b[k]["mid"] for b in bins], dtype=float) for k in ("y", "M2", "sqrts"))


def test_e866_kinematics_give_the_papers_x2():
    """nnpdf-data's y is the pair's c.m. rapidity: x2 = sqrt(M^2/s) e^-y is the bin's <x2>
    (the paper's averages, given to 3 digits; the kinematics are rounded independently)."""
    y, m2, sqrts = e866_kinematics()
    x1, x2 = drell_yan.momentum_fractions(y, m2, sqrts)
    meta = yaml.safe_load((E866 / "metadata.yaml").read_text())
    labels = meta["implemented_observables"][0]["plotting"]["extra_labels"]["$x_2$"]
    np.testing.assert_allclose(x2, labels, atol=1.1e-3)
    np.testing.assert_allclose(x1 * x2, m2 / sqrts**2, rtol=1e-12)
    np.testing.assert_allclose(np.log(x1 / x2) / 2, y, rtol=1e-12)


def test_sigma0_in_pb():
    # 4 pi alpha^2 / (9 M^2 s) (hbar c)^2 at M^2 = 25 GeV^2, s = 1500 GeV^2, by hand
    expected = 4 * np.pi / 137.036**2 / (9 * 25 * 1500) * 0.3893793721e9
    np.testing.assert_allclose(drell_yan.sigma0(25.0, np.sqrt(1500.0)), expected, rtol=1e-14)


def test_luminosity_entries():
    proton = dict(drell_yan.luminosity_entries("proton"))
    assert proton[(2, -2)] == proton[(-2, 2)] == pytest.approx(4 / 9)
    assert proton[(5, -5)] == pytest.approx(1 / 9) and (2, -1) not in proton
    deuteron = dict(drell_yan.luminosity_entries("deuteron"))
    # beam u with the target's ubar: half the proton's ubar, half the neutron's (the proton's dbar)
    assert deuteron[(2, -2)] == deuteron[(2, -1)] == pytest.approx(2 / 9)
    assert deuteron[(-1, 1)] == deuteron[(-1, 2)] == pytest.approx(1 / 18)
    assert deuteron[(3, -3)] == pytest.approx(1 / 9)
    with pytest.raises(ValueError, match="target 'lead'"):
        drell_yan.luminosity_entries("lead")


@pytest.mark.parametrize("target", drell_yan.TARGETS)
def test_direct_formula_equals_the_channel_list(target):
    y, m2, sqrts = e866_kinematics()
    x1, x2 = drell_yan.momentum_fractions(y, m2, sqrts)
    summed = sum(
        factor * toy_xfx(a, x1) / x1 * toy_xfx(b, x2) / x2
        for (a, b), factor in drell_yan.luminosity_entries(target)
    )
    direct = drell_yan.direct_cross_section(toy_xfx, y, m2, sqrts, target)
    np.testing.assert_allclose(direct, drell_yan.sigma0(m2, sqrts) * summed, rtol=1e-13)


def test_deuteron_is_the_nucleon_average():
    """With u = d and ubar = dbar the neutron is the proton: pd/2 = pp."""

    def symmetric(pid, x):
        swap = {1: 2, 2: 1, -1: -2, -2: -1}
        return 0.5 * (toy_xfx(pid, x) + toy_xfx(swap.get(pid, pid), x))

    y, m2, sqrts = e866_kinematics()
    d = drell_yan.direct_cross_section(symmetric, y, m2, sqrts, "deuteron")
    p = drell_yan.direct_cross_section(symmetric, y, m2, sqrts, "proton")
    np.testing.assert_allclose(d, p, rtol=1e-13)


def test_rapidity_integral_matches_the_textbook_mass_spectrum():
    """∫ dy d²σ/dM²dy (scipy over y) = σ0 ∫_τ^1 dx1/x1 Σ e² [q(x1) q̄(τ/x1) + ...] (over x1)."""
    m2, sqrts = 30.0, 38.8
    tau = m2 / sqrts**2
    ymax = -0.5 * np.log(tau)
    over_y, _ = quad(
        lambda y: drell_yan.direct_cross_section(toy_xfx, [y], [m2], sqrts, "proton")[0],
        -ymax,
        ymax,
        epsrel=1e-9,
        limit=200,
    )

    def integrand(x1):
        x2 = tau / x1
        lumi = sum(
            f * toy_xfx(a, x1)[0] / x1 * toy_xfx(b, x2)[0] / x2
            for (a, b), f in drell_yan.luminosity_entries("proton")
        )
        return lumi / x1

    over_x1, _ = quad(integrand, tau, 1.0, epsrel=1e-9, limit=200)
    np.testing.assert_allclose(over_y, drell_yan.sigma0(m2, sqrts) * over_x1, rtol=1e-7)


def test_interpolation_weights_are_exact_on_polynomials_in_log_x():
    nodes = np.geomspace(1e-4, 1.0, 30)
    for x in (2e-4, 3.3e-3, 0.27, 0.93):
        weights = drell_yan.interpolation_weights(x, nodes)
        assert np.count_nonzero(weights) == drell_yan.INTERPOLATION_DEGREE + 1
        for power in range(drell_yan.INTERPOLATION_DEGREE + 1):
            f = np.log(nodes) ** power / nodes  # x f = (ln x)^power
            np.testing.assert_allclose(weights @ f, np.log(x) ** power / x, rtol=1e-9, atol=1e-9)


@pytest.mark.theory
@pytest.mark.parametrize("target", drell_yan.TARGETS)
def test_grid_reproduces_the_direct_formula(target):
    """The PineAPPL grid (before evolution) with the toy at Q = M, on pineko's x grid: the
    interpolation error of x f (degree 4 in ln x, 50 nodes) is ~4e-5 at E866's points."""
    pytest.importorskip("pineappl")
    from pineappl.convolutions import Conv, ConvType

    xgrid = load_theory("n3fit_gpu_dis_nlo").xgrid  # pineko's 50 nodes, as the build uses
    y, m2, sqrts = e866_kinematics()
    grid = drell_yan.point_grid(y, m2, sqrts[0], target, xgrid)
    proton = Conv(convolution_types=ConvType(polarized=False, time_like=False), pid=2212)

    def xfx(pid, x, _q2):
        return float(toy_xfx(pid, x)[0])

    convolved = grid.convolve(pdg_convs=[proton] * 2, xfxs=[xfx] * 2, alphas=lambda _q2: 0.0)
    direct = drell_yan.direct_cross_section(toy_xfx, y, m2, sqrts, target)
    np.testing.assert_allclose(convolved, direct, rtol=1e-4)
    assert [float(q2) for q2 in grid.evolve_info(np.array([True])).fac1] == sorted(m2.tolist())
