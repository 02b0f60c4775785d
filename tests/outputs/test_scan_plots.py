"""The scan's plots and parameter importance on constructed trial documents: every outcome
drawn, importance against a hand computation, the HTML page self-contained."""

import numpy as np
import pytest

from n3fit_gpu.outputs.scan_report import parameter_importance, write_scan_plots


def doc(tid, loss, status="ok", stopped=None, **params):
    folds = [] if loss is None else [loss, loss * 1.1]
    result = {"status": status, "loss": loss, "stopped": stopped,
              "kfold_meta": {"fold_losses": folds}}  # fmt: skip
    return {"tid": tid, "params": params, "result": result}


def test_importance_is_the_correlation_ratio_of_loss_ranks():
    # the optimizer decides the loss; the activation is noise
    docs = [
        doc(0, 1.0, optimizer="Adam", activation="tanh"),
        doc(1, 2.0, optimizer="Adam", activation="sigmoid"),
        doc(2, 30.0, optimizer="SGD", activation="tanh"),
        doc(3, 400.0, optimizer="SGD", activation="sigmoid"),
        doc(
            4,
            None,
            status="fail",
            stopped="no_acceptable_replica",
            optimizer="SGD",
            activation="tanh",
        ),  # fmt: skip
    ]
    ranks = np.array([0.0, 1.0, 2.0, 3.0])  # of the four successful trials
    total = np.sum((ranks - 1.5) ** 2)  # 5
    optimizer = 2 * (0.5 - 1.5) ** 2 + 2 * (2.5 - 1.5) ** 2  # 4
    activation = 2 * (1.0 - 1.5) ** 2 + 2 * (2.0 - 1.5) ** 2  # 1
    found = {name: (eta2, n) for name, eta2, n in parameter_importance(docs)}
    assert found["optimizer"] == (pytest.approx(optimizer / total), 4)
    assert found["activation"] == (pytest.approx(activation / total), 4)
    assert [name for name, *_ in parameter_importance(docs)] == ["optimizer", "activation"]


def test_every_outcome_is_plotted(tmp_path):
    docs = [
        doc(0, 5.0, epochs=100, lr=1e-3),
        doc(1, 420.0, epochs=200, lr=1e-2),  # an outlier: log axes
        doc(2, 12.0, stopped="early_termination", epochs=300, lr=3e-3),
        doc(3, 80.0, status="fail", stopped="threshold", epochs=400, lr=2e-2),
        doc(4, None, status="fail", stopped="non_finite", epochs=500, lr=5e-2),
    ]
    files = write_scan_plots(tmp_path, docs, "loss: average χ²/N", threshold=50.0)
    assert [f.name for f in files] == ["loss.png", "folds.png", "parameters.png", "parallel.png"]
    assert all(f.stat().st_size > 5000 for f in files)  # drawn, not empty canvases
