"""ONE prediction path: groups of observables -> ``(R, n_g)`` predictions per group.

Used by training (Keras tensors, :class:`~n3fit_gpu.physics.losses.PDFLoss`) and by everything
numpy (t0 covariance, closure pseudo-data, reports, postfit χ², positivity checks, scan
penalties) through :func:`predict_stacked` / :func:`predict`, which build the same
:class:`Predictor` on numpy arrays.

Layout. Every DIS kernel's rows go to ONE fused DIS contraction (Keras: an
:class:`~n3fit_gpu.physics.convolution.FKConvolution`, flat GEMMs over x segments; numpy: one
einsum), first operands of every observable first, in group order, then the other operands;
each other kernel (hadronic) is its own contraction. A NULL observable whose table is DIS is then
a slice of the fused output, and consecutive slices are merged, so a DIS-only fit does the
work it did before this module existed: one convolution, one concatenation, the ratio
divisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np

from n3fit_gpu.physics.channel_convolution import NUMPY as _CHANNEL_NUMPY
from n3fit_gpu.physics.observables.operations import combine
from n3fit_gpu.physics.observables.protocol import Observable

NUMPY = SimpleNamespace(**vars(_CHANNEL_NUMPY), concatenate=np.concatenate)


def _merge(refs: list) -> list:
    """Adjacent ``("dis", a, b)``, ``("dis", b, c)`` become ``("dis", a, c)``."""
    out: list = []
    for ref in refs:
        if out and ref[0] == "dis" and out[-1][0] == "dis" and out[-1][2] == ref[1]:
            out[-1] = ("dis", out[-1][1], ref[2])
        else:
            out.append(ref)
    return out


def _operand_refs(refs: dict, g: int, o: int, obs: Observable) -> list[list]:
    """Per operand of ``obs`` (observable ``o`` of group ``g``), its merged row references."""
    return [
        _merge([refs[g, o, k, j] for j in range(len(operand))])
        for k, operand in enumerate(obs.operands)
    ]


def _place(groups: Sequence[Sequence[Observable]]) -> tuple[list, list, dict]:
    """The fused DIS kernels (first operands first, in group order), the other kernels, and
    where each kernel ``(group, observable, operand, index)`` went: ``("dis", start, stop)``
    rows of the fused output or ``("other", i)``."""
    dis, others, refs = [], [], {}
    for first in (True, False):
        for g, group in enumerate(groups):
            for o, obs in enumerate(group):
                for k, operand in enumerate(obs.operands):
                    if (k == 0) != first:
                        continue
                    for j, kernel in enumerate(operand):
                        if kernel.kind == "DIS":
                            start = sum(t.ndata for t in dis)
                            dis.append(kernel)
                            refs[g, o, k, j] = ("dis", start, start + kernel.ndata)
                        else:
                            refs[g, o, k, j] = ("other", len(others))
                            others.append(kernel)
    return dis, others, refs


class Predictor:
    """``call(xf) -> [(R, n_g) per group]`` for ``xf`` ``(R, nx, nbasis)``.

    Parameters
    ----------
    groups :
        e.g. ``[data observables, positivity, integrability]``.
    convert :
        makes a constant tensor of the model's float type from a numpy array (Keras); None:
        numpy arrays and numpy arithmetic.

    ``self.tensors`` is the list of constants; ``call`` may be given another list of the same
    shapes (a compiled training loop passes its constants as arguments).
    """

    def __init__(self, groups: Sequence[Sequence[Observable]], convert=None):
        self.keras = convert is not None
        if self.keras:
            from keras import ops

            self.xp = ops
        else:
            self.xp, convert = NUMPY, np.asarray
        dis, others, refs = _place(groups)
        self.layout = [
            [(obs.operation, _operand_refs(refs, g, o, obs)) for o, obs in enumerate(group)]
            for g, group in enumerate(groups)
        ]
        self.others = others
        self.tensors: list = []
        self.dis = None
        if dis:
            fk = np.concatenate([k.fk for k in dis])
            if self.keras:
                from n3fit_gpu.physics.convolution import FKConvolution

                self.dis = FKConvolution(fk, convert)
                self.tensors += self.dis.tables
            else:
                self.dis = fk
                self.tensors.append(fk)
        self.n_dis_tensors = len(self.tensors)
        self.other_slices = []
        for kernel in others:
            new = kernel.tensors(convert)
            self.other_slices.append(slice(len(self.tensors), len(self.tensors) + len(new)))
            self.tensors += new

    def __call__(self, xf, tensors: list | None = None) -> list:
        xp, t = self.xp, self.tensors if tensors is None else tensors
        dis_out = None
        if self.dis is not None:
            dis_tensors = t[: self.n_dis_tensors]
            if self.keras:
                dis_out = self.dis(xf, dis_tensors)
            else:
                # plain C loops, no BLAS: a row's value does not depend on the other rows
                # or replicas computed with it (level-0 closure data are exactly reproducible)
                dis_out = np.einsum("nbx,rxb->rn", dis_tensors[0], xf)
        other_out = [
            kernel.predict(xf, xp, t[s]) for kernel, s in zip(self.others, self.other_slices)
        ]

        def value(ref):
            return dis_out[:, ref[1] : ref[2]] if ref[0] == "dis" else other_out[ref[1]]

        def join(values):
            return values[0] if len(values) == 1 else xp.concatenate(values, axis=1)

        out = []
        for group in self.layout:
            pending: list = []  # refs and computed values, in order
            for operation, operands in group:
                if operation == "NULL":  # slices of the fused output, merged when adjacent
                    pending += operands[0]
                    continue
                combined = combine(operation, [join([value(r) for r in op]) for op in operands])
                pending.append(("value", combined))
            pending = _merge(pending)
            values = [p[1] if p[0] == "value" else value(p) for p in pending]
            out.append(join(values) if values else xf[:, 0, :0])
        return out


def predict_stacked(observables: Sequence[Observable], xf: np.ndarray) -> np.ndarray:
    """``(R, n)`` numpy predictions of ``observables`` (concatenated) for ``xf`` ``(R, nx, nb)``."""
    return Predictor([observables])(np.asarray(xf))[0]


def predict(observable: Observable, xf: np.ndarray) -> np.ndarray:
    """``(ndata,)`` numpy predictions of one observable for x·f ``(nbasis, nx)``."""
    return predict_stacked([observable], np.asarray(xf).T[None])[0]
