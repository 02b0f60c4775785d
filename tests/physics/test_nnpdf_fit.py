"""Fits from a theory folder in NNPDF's layout (``theory_N/fastkernel/*.pineappl.lz4``).

The folder is built by the test (:mod:`.nnpdf_folders`): the shipped theory's DIS tables as
PineAPPL FK tables under nnpdf-data's table names, plus a hadronic dataset (DYE605, synthetic
table in the real format) and a hadronic positivity set. Checked: the lookup (``--theory``,
``$N3FIT_GPU_THEORIES``, NNPDF's profile), that a DIS fit from the folder equals the fit from
the shipped format to round-off, hadronic predictions against PineAPPL's own convolution, and
replica independence (stacked == alone, float64) with a hadronic dataset in the fit.
"""

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.theory
pytest.importorskip("pineappl", reason="needs the [theory] extra (pineappl)")

from n3fit_gpu.config import load_runcard  # noqa: E402
from n3fit_gpu.config.schema import DatasetInput  # noqa: E402
from n3fit_gpu.errors import TheoryNotFoundError  # noqa: E402
from n3fit_gpu.fit import train_replicas  # noqa: E402
from n3fit_gpu.physics.fit_data import load_fit_data  # noqa: E402
from n3fit_gpu.physics.observables.predict import Predictor, predict_stacked  # noqa: E402
from n3fit_gpu.physics.theory_source import load_card_theory, locate_theory  # noqa: E402

from .nnpdf_folders import (  # noqa: E402
    HADRONIC_DATASET,
    HADRONIC_POSITIVITY,
    THEORYID,
)
from .pineappl_tables import replica_pdf, xf_basis, xfx  # noqa: E402

QUICKSTART = Path(__file__).resolve().parents[2] / "runcards" / "quickstart.yml"


def short_card(theoryid=THEORYID, hadronic=False, epochs=60):
    """The quickstart, float64, short and slow (lr 1e-3: trajectories stay within round-off),
    t0 = toy (an NNPDF folder ships no t0 of ours)."""
    card = load_runcard(QUICKSTART)
    p = card.parameters
    params = p.model_copy(
        update={
            "epochs": epochs,
            "optimizer": p.optimizer.model_copy(update={"learning_rate": 1e-3}),
            "positivity": p.positivity.model_copy(update={"multiplier": 1.54, "threshold": 1e3}),
            "integrability": p.integrability.model_copy(update={"multiplier": 1.12}),
            "threshold_chi2": 1e3,
        }
    )
    update = {
        "parameters": params,
        "double_precision": True,
        "theory": card.theory.model_copy(update={"theoryid": theoryid}),
        "datacuts": card.datacuts.model_copy(update={"t0pdfset": "toy"}),
    }
    if hadronic:
        extra = DatasetInput(dataset=HADRONIC_DATASET, variant="legacy", frac=0.75)
        pos = card.positivity.posdatasets[0].model_copy(update={"dataset": HADRONIC_POSITIVITY})
        update["dataset_inputs"] = (*card.dataset_inputs[:3], extra)
        update["positivity"] = card.positivity.model_copy(
            update={"posdatasets": (*card.positivity.posdatasets, pos)}
        )
    return card.model_copy(update=update)


def test_theory_found_by_path_env_and_nnpdf_profile(nnpdf_root, monkeypatch, tmp_path):
    folder = nnpdf_root / f"theory_{THEORYID}"
    assert locate_theory(THEORYID, folder) == folder
    monkeypatch.setenv("N3FIT_GPU_THEORIES", str(nnpdf_root))
    assert locate_theory(THEORYID) == folder
    monkeypatch.delenv("N3FIT_GPU_THEORIES")
    profile = tmp_path / "nnprofile.yaml"
    profile.write_text(f"nnpdf_share: {nnpdf_root.parent}\ntheories_path: {nnpdf_root.name}\n")
    monkeypatch.setenv("NNPDF_PROFILE_PATH", str(profile))
    assert locate_theory(THEORYID) == folder
    with pytest.raises(TheoryNotFoundError) as error:
        locate_theory(123456)
    message = str(error.value)
    assert "\n" not in message and "theory_123456" in message and "--theory" in message


def load_both(nnpdf_root, monkeypatch, epochs=30):
    """(card, theory, data of replicas 1-2) from the NNPDF folder and from the shipped format."""
    monkeypatch.setenv("N3FIT_GPU_THEORIES", str(nnpdf_root))
    loaded = []
    for theoryid in (THEORYID, "n3fit_gpu_dis_nlo"):
        card = short_card(theoryid, epochs=epochs)
        theory = load_card_theory(card)
        loaded.append((card, theory, load_fit_data(card, theory, [1, 2])))
    return loaded


def test_dis_data_from_nnpdf_folder_equal_the_shipped_format(nnpdf_root, monkeypatch):
    """Same points, pseudodata, covariance, and predictions to round-off (the tables went
    through x f <-> f and the bin widths: ~1e-15 relative)."""
    (_, theory, nnpdf), (_, _, ours) = load_both(nnpdf_root, monkeypatch)
    assert "NNPDF theory folder" in theory.description["built_from"]
    xf = np.random.default_rng(1).uniform(0.1, 1.0, (3, 50, 9))
    np.testing.assert_allclose(
        predict_stacked(nnpdf.observables, xf), predict_stacked(ours.observables, xf), rtol=1e-13
    )
    np.testing.assert_array_equal(nnpdf.pseudodata, ours.pseudodata)
    np.testing.assert_array_equal(nnpdf.training_mask, ours.training_mask)
    np.testing.assert_allclose(nnpdf.covariance.diag, ours.covariance.diag, rtol=1e-13)
    np.testing.assert_allclose(nnpdf.covariance.sys, ours.covariance.sys, rtol=1e-13, atol=0)


@pytest.mark.slow  # two fits, ~1 min on 2 shared cores
def test_dis_fit_from_nnpdf_folder_equals_the_shipped_format(nnpdf_root, monkeypatch, float64):
    """Training amplifies the tables' round-off (a chaotic map): compared after 30 epochs."""
    fits = [
        train_replicas(card, theory, data, show_progress=False)[1]
        for card, theory, data in load_both(nnpdf_root, monkeypatch)
    ]
    nnpdf, ours = fits
    np.testing.assert_array_equal(nnpdf.best_epoch, ours.best_epoch)
    np.testing.assert_allclose(nnpdf.best_validation, ours.best_validation, rtol=1e-10)
    for a, b in zip(nnpdf.weights, ours.weights):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


@pytest.mark.parametrize("engine", ["numpy", "keras"])
def test_hadronic_predictions_equal_pineappl(nnpdf_root, engine, float64):
    from keras import ops

    card = short_card(hadronic=True)
    theory = load_card_theory(card, nnpdf_root / f"theory_{THEORYID}")
    observables = [theory.datasets[HADRONIC_DATASET], theory.positivity[HADRONIC_POSITIVITY]]
    assert {o.kind for o in observables} == {"hadronic"}
    replicas = 3
    xf = np.stack([xf_basis(replica_pdf(r)(theory.xgrid)) for r in range(replicas)])
    if engine == "numpy":
        ours = predict_stacked(observables, xf)
    else:
        convert = lambda a: ops.convert_to_tensor(a, dtype="float64")  # noqa: E731
        ours = ops.convert_to_numpy(Predictor([observables], convert)(convert(xf))[0])
    from pineappl.fk_table import FkTable

    from .pineappl_tables import proton

    theirs = []
    for table, factor in (("DYE605", 1.0), ("NNPDF_POS_DYU_40", 0.7071)):
        fk = FkTable.read(
            str(nnpdf_root / f"theory_{THEORYID}" / "fastkernel" / f"{table}.pineappl.lz4")
        )
        theirs.append(
            factor
            * np.stack(
                [
                    fk.convolve(pdg_convs=[proton()] * 2, xfxs=[xfx(replica_pdf(r))] * 2)
                    for r in range(replicas)
                ]
            )
        )
    theirs = np.concatenate(theirs, axis=1)
    assert np.abs(ours / theirs - 1).max() <= 1e-8


def test_stacked_loss_and_gradient_equal_alone_with_a_hadronic_dataset(nnpdf_root, float64):
    """The loss of 3 stacked replicas (data, hadronic positivity, χ² with per-replica masks)
    and its gradient with respect to x f are, replica by replica, those of each alone."""
    import tensorflow as tf
    from keras import ops

    from n3fit_gpu.physics.fit_data import fit_tensors
    from n3fit_gpu.physics.losses import PDFLoss, PenaltySchedule

    card = short_card(hadronic=True)
    card = card.model_copy(update={"dataset_inputs": card.dataset_inputs[2:]})  # NMC d/p, DY
    theory = load_card_theory(card, nnpdf_root / f"theory_{THEORYID}")
    xf = np.stack([xf_basis(replica_pdf(r)(theory.xgrid)) for r in range(3)])

    def loss_and_gradient(replicas):
        data = load_fit_data(card, theory, replicas)
        schedule = PenaltySchedule(1.0, None, 100)
        loss = PDFLoss(fit_tensors(card, theory, data), schedule, schedule, 1e-6, 10.0, "float64")
        x = tf.Variable(xf[[r - 1 for r in replicas]])
        with tf.GradientTape() as tape:
            objective = loss(x, 0).objective
        return ops.convert_to_numpy(objective), tape.gradient(objective, x).numpy()

    stacked, grad = loss_and_gradient([1, 2, 3])
    for i in range(3):
        alone, grad_alone = loss_and_gradient([i + 1])
        np.testing.assert_allclose(stacked[i], alone[0], rtol=1e-12)
        np.testing.assert_allclose(grad[i], grad_alone[0], rtol=1e-10, atol=1e-12)


@pytest.mark.slow  # three fits, ~1 min on 2 shared cores
def test_stacked_equals_alone_with_a_hadronic_dataset(nnpdf_root, monkeypatch, float64):
    monkeypatch.setenv("N3FIT_GPU_THEORIES", str(nnpdf_root))
    card = short_card(hadronic=True, epochs=30)
    theory = load_card_theory(card)
    assert theory.datasets[HADRONIC_DATASET].kind == "hadronic"

    def run(replicas):
        data = load_fit_data(card, theory, replicas)
        return train_replicas(card, theory, data, show_progress=False)[1]

    replicas = (1, 2)
    stacked = run(list(replicas))
    for i, replica in enumerate(replicas):
        alone = run([replica])
        assert stacked.best_epoch[i] == alone.best_epoch[0]
        np.testing.assert_allclose(stacked.best_validation[i], alone.best_validation[0], rtol=1e-10)
        for w_stacked, w_alone in zip(stacked.weights, alone.weights):
            np.testing.assert_allclose(w_stacked[i], w_alone[0], rtol=0, atol=1e-9)
