#!/usr/bin/env python
"""NNPDF's own n3fit trained on exactly our problem: its replica-epochs per second, for issue 5.

NNPDF's n3fit cannot read our theory 40000000 (its FK tables come from NNPDF's server), so this
script drives n3fit's OWN training machinery as a library, fed with our arrays:
``n3fit.model_trainer.ModelTrainer.hyperparametrizable`` builds n3fit's PDF model
(``model_gen.generate_pdf_model``: per-replica Dense networks, preprocessing, sum rules,
FK rotation), its DIS observable layers, masks and losses (``LossInvcovmat``,
``LossPositivity``, ``LossIntegrability``), its ``Stopping`` and trains with
``MetaModel.perform_fit`` (Keras ``fit``, 100 steps per Keras epoch, n3fit's callbacks every
step), exactly as ``n3fit.performfit`` does; R > 1 is n3fit's parallel-replica mode (one
ModelTrainer for all replicas, ``parallel_models``). Nothing of n3fit is replaced or stubbed.

It has two roles, because n3fit (TensorFlow, its own Keras) must not be installed into the
environment whose packages our tests use:

1. ``export``, run by OUR Python: writes the problem of a runcard to an npz (arrays plus a JSON
   header)::

       python scripts/n3fit_reference.py export --runcard runcards/quickstart.yml \\
           --replicas 10 --out /tmp/problem_r10.npz

2. ``time``, run by the n3fit virtualenv's Python: trains n3fit on it and prints ONE JSON line
   (``backend device mode replicas epochs seconds replica_epochs_per_s peak_rss_mb
   n3fit_version final_chi2``, the row format of ``scripts/benchmark.py``; diagnostics go to
   stderr)::

       python -m venv /tmp/n3fit-venv                                   # Python 3.11 here
       /tmp/n3fit-venv/bin/pip install nnpdf lhapdf-management          # ~2 min, nnpdf 4.1.5
       /tmp/n3fit-venv/bin/python scripts/n3fit_reference.py time /tmp/problem_r10.npz \\
           --epochs 1000

   No LHAPDF is needed: ``validphys.core`` imports ``lhapdf`` at import time but falls back to
   the pure-Python ``lhapdf-management`` (NNPDF's own documented fallback; pdfflow is only
   imported if a PDF set is opened), and without a t0 set, a photon or a boundary condition
   n3fit never opens a PDF set.

Timing: one n3fit fit of ``--warmup`` (default 100) + ``--epochs`` epochs with stopping
disabled (``stopping_patience: 1.0``: patience = all epochs). A callback appended to
``ModelTrainer.callbacks`` (where n3fit's own debug TimerCallback goes) reads the clock at
the end of step ``warmup`` (by then TensorFlow has traced the training step, the validation
model's losses and the Lagrange-multiplier update) and when Keras ends the training; so
``seconds`` covers exactly ``--epochs`` full-batch steps, each with n3fit's per-step
callbacks (validation χ², stopping bookkeeping, best-weight copies), and excludes model
building and compilation. ``final_chi2`` is n3fit's training χ²/point per replica after the
fit (``ModelTrainer.evaluate``, i.e. with the best-validation weights restored, as n3fit
reports it).

Mapping of our arrays onto n3fit's inputs:

- FK tables: ours are ``(ndata, 9, nx)`` in the basis (Σ, g, V, V3, V8, V15, T3, T8, T15),
  convolved with x·f at Q0 — the same convention as n3fit's tables (validphys divides
  PineAPPL grids by x so that they convolve x·f). Each becomes a validphys
  ``coredata.FKTableData`` (DIS, ``sigma`` indexed by (data, x), columns = indices into the
  14-flavour FK basis (γ, Σ, g, V, V3, V8, V15, V24, V35, T3, T8, T15, T24, T35): 1, 2, 3, 4, 5,
  6, 9, 10, 11), wrapped in a ``FittableDataSet`` with the dataset's operation (NULL or RATIO);
  n3fit's EVOL fitting basis gives V15 = V and T15 fitted, as our 9-flavour tables assume.
- Data: one ``exp_info`` dict per experiment group (n3fit's default grouping by the
  nnpdf-data ``experiment`` key: BCDMS, NMC, HERACOMB; export checks that no systematic
  correlates two groups) and replica, laid out like ``validphys.n3fit_data.fitting_data_dict``
  with ``diagonal_basis: false``: our pseudodata replica and our per-replica training mask
  (``trmask``, ``vlmask = ~trmask``), the dense covariance ``D + A Aᵀ`` of the group and its
  inverses restricted to the training and validation points, computed as validphys does
  (through the correlation matrix). ``--grouping all`` puts every dataset in one group
  (n3fit's grouping with ``diagonal_basis: true``, here still without the rotation);
  ``--grouping correlated`` merges the experiment groups a systematic correlates (NNPDF4.0's
  deuteron uncertainties tie NMC, SLAC and BCDMS), the smallest block-diagonal grouping: n3fit
  keeps a dense inverse covariance per group and replica, which for one group of the 4,672
  points of the NNPDF4.0-size problem exhausts 23 GB at R = 100.
  n3fit 4.1.5's default, ``diagonal_basis: true``, would instead split training/validation on
  the eigenvectors of the correlation matrix and add a dense (n × n) rotation of the
  predictions to every training and validation evaluation: a different split, and more work
  per epoch, so the configuration timed here is the cheaper n3fit one.
- Positivity and integrability: one dict per table as ``_fitting_lagrange_dict`` makes, with
  the runcard's ``maxlambda``; n3fit grows the multipliers every 100 epochs from
  ``initial`` (its ``_LM_initial_and_multiplier``).
- Network and training: the runcard's ``parameters`` (nodes, activations, initializer, Adam
  lr/clipnorm, positivity/integrability initials, threshold_chi2), its ``fitting.basis``
  preprocessing ranges (``flavinfo``), ``fitbasis`` EVOL, ``sum_rules`` and n3fit's per-replica
  seeds ``validphys.n3fit_data.replica_nnseed(replica, nnseed)``. Initial weights and the
  preprocessing exponents are n3fit's own draws, not ours.

Check: after the fit, our NumPy FK convolution of n3fit's x·f (its 14 flavours taken back to
our 9) gives n3fit's own χ² of the central data to 4 digits (printed on stderr).

Measured (2 shared CPU cores, another job using about one of them; quickstart, 1000 timed
epochs, nnpdf 4.1.5, TF 2.21, Keras 3.15): n3fit R=1 26–31 replica-epochs/s (1.0 GB),
R=10 127 (1.3 GB), R=100 200 (4.1 GB); training χ²/point 2.0–2.6, validation 2.0–2.8 and
central-data χ²/point 1.36–1.43 (R=10, 2000 epochs). ``scripts/benchmark.py`` in the same
session, stacked: R=1 1,750–3,317, R=10 2,108–4,936, R=100 4,932–6,784 (TF and JAX, runs
before and after): 17–125× n3fit's rate per replica-epoch.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

# n3fit's 14-flavour FK basis (validphys.pdfbases.FK_BASIS): our label -> its index
N3FIT_FK_INDEX = {
    "sigma": 1, "g": 2, "v": 3, "v3": 4, "v8": 5, "v15": 6, "t3": 9, "t8": 10, "t15": 11,
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# export (our environment)
# --------------------------------------------------------------------------------------------
def _experiment(name: str) -> str:
    """n3fit's default group of a dataset: nnpdf-data's ``experiment`` (else the set's prefix)."""
    import nnpdf_data
    import yaml

    setname, _ = name.rsplit("_", 1)
    path = Path(nnpdf_data.__file__).parent / "commondata" / setname / "metadata.yaml"
    if not path.exists():  # a synthetic set (scripts/nnpdf40_problem.py): its own group
        return name
    meta = yaml.safe_load(path.read_text()).get("nnpdf_metadata", {}) or {}
    return str(meta.get("experiment") or setname.split("_")[0])


def _merge_correlated(datasets: list[dict], cov: np.ndarray) -> None:
    """Merge the groups of datasets that a systematic correlates (e.g. the deuteron
    uncertainties of NMC, SLAC and BCDMS), so that the covariance is block diagonal in groups."""
    spans = [slice(d["start"], d["start"] + d["ndata"]) for d in datasets]
    for i, a in enumerate(spans):
        for j, b in enumerate(spans[:i]):
            if np.any(cov[a, b] != 0) and datasets[i]["group"] != datasets[j]["group"]:
                old, new = datasets[i]["group"], datasets[j]["group"]
                for d in datasets:
                    d["group"] = new if d["group"] == old else d["group"]


def export(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, if not installed
    from n3fit_gpu.config import load_runcard
    from n3fit_gpu.physics.fit_data import load_fit_data
    from n3fit_gpu.physics.theory import load_theory

    # per-point training masks: the reference hands n3fit its masks point by point (for a
    # timing comparison the split's basis does not matter)
    if args.problem == "nnpdf40":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from nnpdf40_problem import DIS_RUNCARD, nnpdf40_problem

        card = load_runcard(DIS_RUNCARD).model_copy(update={"diagonal_basis": False})
        card, theory, data = nnpdf40_problem(args.replicas, card)
        replicas = list(data.replicas)
    else:
        card = load_runcard(args.runcard).model_copy(update={"diagonal_basis": False})
        theory = load_theory(card.theory.theoryid)
        replicas = list(range(1, args.replicas + 1))
        data = load_fit_data(card, theory, replicas)
    if data.held_out is not None:
        raise SystemExit("k-fold held-out points are not supported")

    arrays: dict[str, np.ndarray] = {"xgrid": np.asarray(theory.xgrid, float)}
    cov = data.covariance.dense()
    arrays["covmat"] = cov
    arrays["central"] = data.central
    arrays["pseudodata"] = data.pseudodata
    arrays["trmask"] = data.training_mask

    datasets = []
    offsets = np.cumsum([0, *(cd.ndata for cd in data.datasets)])
    for i, (cd, obs) in enumerate(zip(data.datasets, data.observables)):
        entry = {"name": cd.name, "ndata": cd.ndata, "start": int(offsets[i])}
        entry |= {"operation": obs.operation, "hadronic": obs.kind != "DIS"}
        entry["group"] = "ALL" if args.grouping == "all" else _experiment(cd.name)
        if obs.kind == "DIS":
            for j, fk in enumerate(obs.fktables):
                arrays[f"fk_{i}_{j}"] = fk
            entry["ntables"] = len(obs.fktables)
        else:  # one channel-sparse table: (n, c, I, J) on the x nodes [lo, hi)
            (kernel,) = obs.kernels
            plan = kernel.plan
            shape = (len(plan.left), plan.hi - plan.lo, plan.hi - plan.lo, kernel.ndata)
            arrays[f"fk_{i}_0"] = np.moveaxis(plan.matrix.reshape(shape), -1, 0).astype(np.float32)
            entry |= {"ntables": 1, "lo": plan.lo, "hi": plan.hi}
            entry["channels"] = np.stack([plan.left, plan.right], axis=1).tolist()
        datasets.append(entry)
    # a group must not be correlated with another one (n3fit's χ² is block diagonal in groups)
    if args.grouping == "correlated":
        _merge_correlated(datasets, cov)
    group_of = np.concatenate([[d["group"]] * d["ndata"] for d in datasets])
    cross = group_of[:, None] != group_of[None, :]
    if np.any(cov[cross] != 0):
        raise SystemExit("a systematic correlates two experiment groups; use --grouping all")

    def constraints(entries, available, prefix):
        out = []
        for k, e in enumerate(entries):
            arrays[f"{prefix}_{k}"] = available[e.dataset].fktables[0]
            out.append({"name": e.dataset, "maxlambda": e.maxlambda})
        return out

    p = card.parameters
    header = {
        "runcard": str(args.runcard) if args.problem == "runcard" else args.problem,
        "description": card.description,
        "theoryid": card.theory.theoryid,
        "q0": theory.q0,
        "fk_basis": list(theory.basis),
        "convolution": theory.metadata.get("convolution", "xf"),
        "replicas": replicas,
        "nnseed": card.nnseed,
        "datasets": datasets,
        "positivity": constraints(card.positivity.posdatasets, theory.positivity, "pos"),
        "integrability": constraints(
            card.integrability.integdatasets, theory.integrability, "integ"
        ),
        "fitbasis": card.fitting.fitbasis,
        "sum_rules": card.fitting.sum_rules,
        "basis": [f.model_dump() for f in card.fitting.basis],
        "parameters": {
            "nodes_per_layer": list(p.nodes_per_layer),
            "activation_per_layer": list(p.activation_per_layer),
            "initializer": p.initializer,
            "optimizer": p.optimizer.model_dump(),
            "epochs": p.epochs,
            "positivity": p.positivity.model_dump(),
            "integrability": p.integrability.model_dump(),
            "stopping_patience": p.stopping_patience,
            "layer_type": p.layer_type,
            "dropout": p.dropout,
            "threshold_chi2": p.threshold_chi2,
        },
    }
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez_compressed(args.out, **arrays)
    print(
        f"wrote {args.out}: {len(replicas)} replicas, {len(datasets)} datasets, "
        f"{data.central.size} points, groups {sorted({d['group'] for d in datasets})}",
        file=sys.stderr,
    )


# --------------------------------------------------------------------------------------------
# time (n3fit's environment)
# --------------------------------------------------------------------------------------------
def _fktable(fk: np.ndarray, xgrid: np.ndarray, q0: float, basis: list[str]):
    """Our dense (ndata, 9, nx) table as a validphys FKTableData in n3fit's 14-flavour basis."""
    import pandas as pd
    from validphys.coredata import FKTableData

    columns = [N3FIT_FK_INDEX[b] for b in basis]
    order = np.argsort(columns)  # n3fit's flavour mask takes the active flavours in index order
    fk = fk[:, order, :]
    ndata, nb, nx = fk.shape
    index = pd.MultiIndex.from_product([range(ndata), range(nx)], names=["data", "x"])
    values = fk.transpose(0, 2, 1).reshape(ndata * nx, nb)
    sigma = pd.DataFrame(values, index=index, columns=[columns[k] for k in order])
    table = FKTableData(
        hadronic=False,
        Q0=q0,
        ndata=ndata,
        xgrid=np.asarray(xgrid, float),
        sigma=sigma,
        data_index=pd.Series(np.arange(ndata)),
    )
    assert np.array_equal(table.get_np_fktable(), fk), "FKTableData round trip failed"
    return table


def _hadronic_fktable(fk: np.ndarray, channels: list, xgrid: np.ndarray, q0: float, basis):
    """Our channel-sparse (ndata, c, nx, nx) table, channel c = (basis[a], basis[b]) on the
    first and second x, as a hadronic FKTableData: columns are 14·A + B in n3fit's FK basis."""
    import pandas as pd
    from validphys.coredata import FKTableData

    columns = np.array(
        [14 * N3FIT_FK_INDEX[basis[a]] + N3FIT_FK_INDEX[basis[b]] for a, b in channels]
    )
    order = np.argsort(columns)  # luminosity_mapping lists the pairs in this order
    fk = fk[:, order]
    ndata, nc, nx, _ = fk.shape
    index = pd.MultiIndex.from_product(
        [range(ndata), range(nx), range(nx)], names=["data", "x1", "x2"]
    )
    values = fk.transpose(0, 2, 3, 1).reshape(ndata * nx * nx, nc)
    table = FKTableData(
        hadronic=True,
        Q0=q0,
        ndata=ndata,
        xgrid=np.asarray(xgrid, float),
        sigma=pd.DataFrame(values, index=index, columns=columns[order]),
        data_index=pd.Series(np.arange(ndata)),
    )
    assert np.array_equal(table.get_np_fktable(), fk), "FKTableData round trip failed"
    return table


def _inverse(covmat: np.ndarray) -> np.ndarray:
    """Inverse as validphys computes it (through the correlation matrix)."""
    s = 1 / np.sqrt(np.diag(covmat))
    return np.einsum("i,ij,j->ij", s, np.linalg.inv(np.einsum("i,ij,j->ij", s, covmat, s)), s)


def build_inputs(npz):
    from validphys.n3fit_data import replica_nnseed
    from validphys.n3fit_data_utils import FittableDataSet

    header = json.loads(bytes(npz["header"]).decode())
    xgrid, q0, basis = npz["xgrid"], header["q0"], header["fk_basis"]
    if header.get("convolution", "xf") != "xf":
        raise SystemExit("FK tables must convolve x·f (n3fit's convention)")
    covmat, central = npz["covmat"], npz["central"]
    pseudodata, trmask = npz["pseudodata"], npz["trmask"]

    groups: dict[str, list] = {}
    for i, d in enumerate(header["datasets"]):
        if d.get("hadronic"):
            box = xgrid[d["lo"] : d["hi"]]
            tables = [_hadronic_fktable(npz[f"fk_{i}_0"], d["channels"], box, q0, basis)]
        else:
            tables = [_fktable(npz[f"fk_{i}_{j}"], xgrid, q0, basis) for j in range(d["ntables"])]
        fds = FittableDataSet(d["name"], tables, d["operation"])
        rows = np.arange(d["start"], d["start"] + d["ndata"])
        groups.setdefault(d["group"], []).append((fds, rows))

    exp_info = []
    for r in range(len(header["replicas"])):
        replica_dicts = []
        for name, members in groups.items():
            rows = np.concatenate([m[1] for m in members])
            cov = covmat[np.ix_(rows, rows)]
            tr = trmask[r, rows].copy()
            vl = ~tr
            data = pseudodata[r, rows]
            replica_dicts.append(
                {
                    "datasets": [m[0] for m in members],
                    "name": name,
                    "expdata_true": central[rows].reshape(1, -1),
                    "invcovmat_true": _inverse(cov),
                    "covmat": cov,
                    "trmask": tr,
                    "invcovmat": _inverse(cov[np.ix_(tr, tr)]),
                    "ndata": int(tr.sum()),
                    "expdata": data[tr].reshape(1, -1),
                    "vlmask": vl,
                    "invcovmat_vl": _inverse(cov[np.ix_(vl, vl)]),
                    "ndata_vl": int(vl.sum()),
                    "expdata_vl": data[vl].reshape(1, -1),
                    "positivity": False,
                    "count_chi2": True,
                    "folds": {"training": [], "validation": [], "experimental": []},
                    "data_transformation": None,
                }
            )
        exp_info.append(replica_dicts)

    def lagrange(entries, prefix, integrability):
        out = []
        for k, e in enumerate(entries):
            table = _fktable(npz[f"{prefix}_{k}"], xgrid, q0, basis)
            ndata = table.ndata
            out.append(
                {
                    "datasets": [FittableDataSet(e["name"], [table])],
                    "trmask": np.ones(ndata, dtype=bool),
                    "name": e["name"],
                    "expdata": np.zeros((1, ndata)),
                    "ndata": ndata,
                    "positivity": True,
                    "lambda": e["maxlambda"],
                    "count_chi2": False,
                    "integrability": integrability,
                }
            )
        return out

    pos_info = lagrange(header["positivity"], "pos", False)
    integ_info = lagrange(header["integrability"], "integ", True)
    flavinfo = [
        {"fl": f["fl"], "smallx": list(f["smallx"]), "largex": list(f["largex"]),
         "trainable": bool(f.get("trainable", False))}
        for f in header["basis"]
    ]  # fmt: skip
    nnseeds = [replica_nnseed(r, header["nnseed"]) for r in header["replicas"]]
    return header, exp_info, pos_info, integ_info, flavinfo, nnseeds


def _check_mapping(npz, header, pdf_model, exp_chi2) -> str:
    """Our FK convolution (NumPy) of n3fit's fitted x·f against n3fit's own χ² of central data.

    n3fit's PDF on our x grid, its 14 flavours taken back to our 9 by ``N3FIT_FK_INDEX``, then
    ``pred = Σ FK·xf`` (RATIO: quotient of the two tables) and the χ²/point with the full
    covariance: equal to n3fit's experimental χ² only if the mapping above is right.
    """
    xgrid = npz["xgrid"]
    xf14 = pdf_model.predict({"pdf_input": xgrid.reshape(1, -1, 1)}, verbose=0)[0]  # (R, nx, 14)
    xf = xf14[..., [N3FIT_FK_INDEX[b] for b in header["fk_basis"]]].astype(float)  # (R, nx, 9)
    preds = []
    for i, d in enumerate(header["datasets"]):
        if d.get("hadronic"):
            box = xf[:, d["lo"] : d["hi"]]
            (a, b) = np.array(d["channels"]).T
            pred = np.einsum("ncij,ric,rjc->rn", npz[f"fk_{i}_0"], box[..., a], box[..., b])
            preds.append(pred)
            continue
        tables = [np.einsum("nbx,rxb->rn", npz[f"fk_{i}_{j}"], xf) for j in range(d["ntables"])]
        preds.append(tables[0] / tables[1] if d["operation"] == "RATIO" else tables[0])
    diff = npz["central"][None, :] - np.concatenate(preds, axis=1)
    chi2 = np.einsum("ri,ri->r", diff, np.linalg.solve(npz["covmat"], diff.T).T) / diff.shape[1]
    ours = np.round(chi2, 4).tolist()
    theirs = np.round(np.atleast_1d(exp_chi2), 4).tolist()
    return f"mapping check: chi2/pt of central data, numpy {ours[:5]} vs n3fit {theirs[:5]}"


def time_n3fit(args: argparse.Namespace) -> dict:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    npz = np.load(args.problem)
    header, exp_info, pos_info, integ_info, flavinfo, nnseeds = build_inputs(npz)

    from importlib.metadata import version

    from keras import callbacks as kcallbacks
    from n3fit.backends import set_initial_state

    set_initial_state(debug=False, max_cores=args.max_cores, double_precision=False)
    from n3fit.model_trainer import ModelTrainer

    replicas = tuple(header["replicas"])
    sum_rules = header["sum_rules"]
    sum_rules = {"NONE": False, "ALL": "ALL"}.get(sum_rules, sum_rules)
    trainer = ModelTrainer(
        [],  # experiments_data: used only by hyperopt's metrics
        exp_info,
        pos_info,
        integ_info,
        flavinfo,
        header["fitbasis"],
        nnseeds,
        None,  # boundary_condition (polarised fits only)
        sum_rules=sum_rules,
        replicas=replicas,
    )
    trainer.set_hyperopt(False)
    trainer.print_summary = args.summary

    class Clock(kcallbacks.Callback):
        """Reads the clock after ``warmup`` steps and when the training ends."""

        def __init__(self, warmup):
            super().__init__()
            self.warmup, self.steps, self.t0, self.t1 = warmup, 0, None, None
            self.steps_at_t0 = None  # still None if the fit stops within the warm-up

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if self.steps == self.warmup:
                self.t0, self.steps_at_t0 = time.perf_counter(), self.steps

        def on_train_end(self, logs=None):
            self.t1 = time.perf_counter()

    clock = Clock(args.warmup)
    trainer.callbacks.append(clock)

    p = dict(header["parameters"])
    p["epochs"] = args.warmup + args.epochs
    p["stopping_patience"] = 1.0  # patience = every epoch: stopping never triggers
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        result = trainer.hyperparametrizable(p)
        total = time.perf_counter() - start
        stopping = result["stopping_object"]
        tr_chi2, vl_chi2, exp_chi2 = trainer.evaluate(stopping)
    check = _check_mapping(npz, header, result["pdf_model"], exp_chi2)
    timed_epochs = 0 if clock.steps_at_t0 is None else clock.steps - clock.steps_at_t0
    if timed_epochs <= 0:
        sys.exit(
            f"error: n3fit ran {clock.steps} steps, none after the {args.warmup} warm-up ones "
            f"(its stop epoch {stopping.stop_epoch}): nothing was timed; raise --epochs"
        )
    seconds = clock.t1 - clock.t0
    print(
        f"n3fit: {clock.steps} steps in {total:.1f} s (build + compile + train); "
        f"stop_epoch {stopping.stop_epoch}, best epochs {stopping.e_best_chi2}; "
        f"validation chi2/pt {np.round(np.atleast_1d(vl_chi2), 3).tolist()}; "
        f"experimental chi2/pt (central data) {np.round(np.atleast_1d(exp_chi2), 3).tolist()}; "
        f"positivity {stopping.positivity_status}; {check}",
        file=sys.stderr,
    )
    return {
        "backend": "tensorflow",
        "device": "cpu",
        "mode": "n3fit",
        "replicas": len(replicas),
        "epochs": timed_epochs,
        "seconds": seconds,
        "replica_epochs_per_s": len(replicas) * timed_epochs / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "n3fit_version": version("nnpdf"),
        "final_chi2": [float(c) for c in np.atleast_1d(tr_chi2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write our problem to an npz (our Python)")
    ex.add_argument("--runcard", type=Path, default=Path("runcards/quickstart.yml"))
    ex.add_argument("--problem", choices=("runcard", "nnpdf40"), default="runcard")
    ex.add_argument("--replicas", type=int, default=1)
    ex.add_argument("--out", type=Path, required=True)
    ex.add_argument(
        "--grouping",
        choices=("experiment", "correlated", "all"),
        default="experiment",
        help="experiment groups (n3fit with diagonal_basis: false), those merged where a "
        "systematic correlates them, or one group of all data",
    )
    tm = sub.add_parser("time", help="train n3fit on an exported problem (n3fit's Python)")
    tm.add_argument("problem", type=Path)
    tm.add_argument("--epochs", type=int, default=1000, help="timed epochs")
    tm.add_argument("--warmup", type=int, default=100, help="untimed epochs before (compile)")
    tm.add_argument("--max-cores", type=int, default=None, help="n3fit's maxcores")
    tm.add_argument("--summary", action="store_true", help="print n3fit's model summaries")
    args = parser.parse_args()
    if args.command == "export":
        export(args)
    else:
        print(json.dumps(time_n3fit(args)))


if __name__ == "__main__":
    main()
