"""The PDF fit itself: replicas fitted stacked equal the same replicas fitted one at a time.

Runs the fit's own code path (data, pseudodata, masks, Woodbury χ², positivity, sum rules,
per-replica clipping and stopping) in float64 on the shipped theory. The learning rate is
lowered: at the quickstart's 0.01 the first epochs are chaotic (a 1e-14 perturbation of ONE
sequential fit moves its validation χ² by ~1e-2 within 100 epochs), which would test
round-off amplification rather than independence.
"""

from pathlib import Path

import numpy as np

from n3fit_gpu.config import load_runcard
from n3fit_gpu.fit import train_replicas
from n3fit_gpu.physics.fit_data import load_fit_data
from n3fit_gpu.physics.theory import load_theory

QUICKSTART = Path(__file__).resolve().parents[2] / "runcards" / "quickstart.yml"


def test_stacked_pdf_fit_equals_sequential(float64):
    card = load_runcard(QUICKSTART)
    optimizer = card.parameters.optimizer.model_copy(update={"learning_rate": 1e-3})
    params = card.parameters.model_copy(
        update={"epochs": 120, "stopping_patience": 0.1, "optimizer": optimizer}
    )
    card = card.model_copy(update={"parameters": params, "double_precision": True})
    theory = load_theory(card.theory.theoryid)

    def run(replicas):
        data = load_fit_data(card, theory, replicas)
        return train_replicas(card, theory, data, show_progress=False)[1]

    stacked = run([1, 2])
    for i, replica in enumerate((1, 2)):
        alone = run([replica])
        assert stacked.stop_epoch[i] == alone.stop_epoch[0]
        assert stacked.best_epoch[i] == alone.best_epoch[0]
        for w_stacked, w_alone in zip(stacked.weights, alone.weights):
            np.testing.assert_allclose(w_stacked[i], w_alone[0], rtol=0, atol=1e-9)
