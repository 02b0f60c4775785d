"""The runcard schema: one pydantic model per block, every key typed, ranged and documented.

Keys that NNPDF's n3fit runcards also have keep NNPDF's names, meanings and defaults; ours are
``replicas`` and ``backend``. Models are frozen (sequences are tuples) and refuse unknown keys.
Checks that need two blocks at once (fold datasets among the fit's datasets, last layer width
equal to the number of fitted flavours) live on :class:`RunCard`. Whether datasets and theories
exist is not checked here: the physics layer does that when it loads them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    model_validator,
)

from n3fit_gpu.config.scan_schema import HyperscanConfig, KFold
from n3fit_gpu.config.vocabulary import (
    DEFAULT_LEARNING_RATES,
    EVOL_FLAVOURS,
    SUM_RULES,
    ActivationName,
    BackendName,
    DropoutRate,
    FieldIssue,
    FlavourName,
    InitializerName,
    LayerType,
    OptimizerName,
    Range,
    TheoryId,
    canonical,
    closest,
)

# NNPDF4.0's fitted-basis preprocessing ranges: (flavour, smallx, largex)
NNPDF40_BASIS = (
    ("sng", (1.089, 1.119), (1.475, 3.119)),
    ("g", (0.7504, 1.098), (2.814, 5.669)),
    ("v", (0.479, 0.7384), (1.549, 3.532)),
    ("v3", (0.1073, 0.4397), (1.733, 3.458)),
    ("v8", (0.5507, 0.7837), (1.516, 3.356)),
    ("t3", (-0.4506, 0.9305), (1.745, 3.424)),
    ("t8", (0.5877, 0.8687), (1.522, 3.515)),
    ("t15", (1.089, 1.141), (1.492, 3.222)),
)
# NNPDF4.0 runcard seeds, used when a runcard gives none
DEFAULT_SEEDS = {"trvlseed": 591866982, "nnseed": 945709987, "mcseed": 519562661}


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetInput(_Block):
    """One entry of ``dataset_inputs``."""

    dataset: str = Field(description="nnpdf-data name, e.g. HERA_NC_318GEV_EP-SIGMARED.")
    variant: str | None = Field(
        None, description="Variant from the dataset's metadata.yaml (e.g. legacy); null: none."
    )
    frac: float = Field(
        1.0,
        gt=0,
        le=1,
        description=(
            "Fraction of the dataset's points used for training with diagonal_basis: false "
            "(n3fit's default 1); the diagonal basis splits by diagonal_frac instead."
        ),
    )
    cfac: tuple[str, ...] = Field(
        (),
        description=(
            "C-factors multiplying the predictions, by nnpdf-data label (e.g. [QCD]); files "
            "nnpdf_data/cfactors/CF_<label>_<table>.dat. NULL-operation datasets only."
        ),
    )


class DataCuts(_Block):
    """NNPDF's ``datacuts``: kinematic cuts and the t0 PDF of the covariance matrix."""

    t0pdfset: str | None = Field(
        None,
        description=(
            "PDF of the t0 covariance every fit uses (its predictions replace the data in MULT "
            "uncertainties, as n3fit): null, the t0 PDF shipped with the theory; 'toy' (the "
            "closure truth); or an LHAPDF6 set with a Q knot at the theory's Q0, as a folder "
            "(e.g. output/<fit>/lhapdf/<fit>) or a name on $LHAPDF_DATA_PATH."
        ),
    )
    q2min: float = Field(3.49, ge=0, description="Drop points with Q² ≤ q2min GeV² (3.49).")
    w2min: float = Field(12.5, ge=0, description="Drop DIS points with W² ≤ w2min GeV² (12.5).")


class Theory(_Block):
    """NNPDF's ``theory`` block."""

    theoryid: TheoryId = Field(
        description=(
            "The theory's id: an NNPDF theory number (once installed) or the name of one of "
            "ours, e.g. n3fit_gpu_dis_nlo (shipped: NLO, ZM-VFNS, DIS)."
        )
    )


class Optimizer(_Block):
    """``parameters.optimizer``: the per-replica optimizer."""

    optimizer_name: OptimizerName = Field(
        description="SGD, Adam, Nadam, RMSprop, Adadelta or Amsgrad (any case)."
    )
    learning_rate: float = Field(
        gt=0, description="Step size; default: Keras' (0.01 for SGD, 0.001 for the others)."
    )
    clipnorm: float | None = Field(
        None, gt=0, description="Largest gradient norm, per replica; null: no clipping."
    )

    @model_validator(mode="before")
    @classmethod
    def _default_learning_rate(cls, data: Any) -> Any:
        if isinstance(data, dict) and "learning_rate" not in data:
            name = data.get("optimizer_name")
            by_lower = {k.lower(): v for k, v in DEFAULT_LEARNING_RATES.items()}
            if isinstance(name, str) and name.lower() in by_lower:
                return {**data, "learning_rate": by_lower[name.lower()]}
        return data


class LagrangeSettings(_Block):
    """``parameters.positivity`` / ``parameters.integrability``: the multiplier schedule.

    The multiplier starts at ``initial`` and is multiplied by ``multiplier`` every 100 epochs.
    When ``multiplier`` is null it is chosen so that each dataset reaches its ``maxlambda`` at
    the last epoch (``initial`` then defaults to 1); when only ``initial`` is null it is chosen
    the same way.
    """

    initial: float | None = Field(None, gt=0, description="Starting multiplier; null: see above.")
    multiplier: float | None = Field(None, gt=0, description="Growth every 100 epochs.")


class PositivitySettings(LagrangeSettings):
    """``parameters.positivity``: adds the threshold a fitted replica must respect."""

    threshold: float = Field(
        1e-6, ge=0, description="A replica fails if a positivity penalty exceeds it (1e-6)."
    )


class Parameters(_Block):
    """NNPDF's ``parameters``: the network and its training."""

    nodes_per_layer: tuple[PositiveInt, ...] = Field(
        min_length=1, description="Units per layer, e.g. [25, 20, 8]; the last is 8 (flavours)."
    )
    activation_per_layer: tuple[ActivationName, ...] = Field(
        min_length=1, description="One activation per layer, e.g. [tanh, tanh, linear]."
    )
    initializer: InitializerName = Field("glorot_normal", description="Weight initialiser.")
    optimizer: Optimizer = Field(description="The optimizer and its settings.")
    epochs: PositiveInt = Field(description="Most epochs (full-batch gradient steps).")
    positivity: PositivitySettings = Field(
        default_factory=PositivitySettings, description="Positivity multiplier schedule."
    )
    integrability: LagrangeSettings = Field(
        default_factory=LagrangeSettings, description="Integrability multiplier schedule."
    )
    stopping_patience: float = Field(
        0.1, gt=0, le=1, description="Epochs without improvement before stopping, as a fraction."
    )
    layer_type: LayerType = Field("dense", description="Only dense for now.")
    dropout: DropoutRate = Field(
        0.0, ge=0, lt=1, description="Dropout rate of hidden layers; only 0 (none) for now."
    )
    threshold_chi2: float = Field(
        10.0, gt=0, description="A replica fails if its validation χ²/point exceeds it (10)."
    )

    @model_validator(mode="after")
    def _one_activation_per_layer(self) -> Parameters:
        layers, activations = len(self.nodes_per_layer), len(self.activation_per_layer)
        if layers != activations:
            raise FieldIssue(
                f"must have one entry per layer: {layers}, as nodes_per_layer",
                at=("activation_per_layer",),
                got=list(self.activation_per_layer),
            )
        return self


class BasisFlavour(_Block):
    """One entry of ``fitting.basis``: a fitted flavour and its preprocessing ranges."""

    fl: FlavourName = Field(description="EVOL label: sng, g, v, v3, v8, t3, t8 or t15.")
    trainable: bool = Field(True, description="Fit the exponents (NNPDF default true).")
    smallx: Range = Field(description="[min, max] of α in x^(1-α).")
    largex: Range = Field(description="[min, max] of β in (1-x)^β.")


def _nnpdf40_basis() -> tuple[BasisFlavour, ...]:
    return tuple(
        BasisFlavour(fl=fl, trainable=False, smallx=small, largex=large)
        for fl, small, large in NNPDF40_BASIS
    )


def _fitbasis(value: Any) -> Any:
    if isinstance(value, str) and value.upper() != "EVOL":
        raise FieldIssue("fitting basis not supported yet", hint="only EVOL is implemented")
    return value.upper() if isinstance(value, str) else value


def _sum_rules(value: Any) -> Any:
    if isinstance(value, bool):
        return "ALL" if value else "NONE"
    return canonical(value, SUM_RULES, "sum-rule choice")


class Fitting(_Block):
    """NNPDF's ``fitting``: the fitted basis, its preprocessing and the sum rules."""

    fitbasis: Annotated[str, BeforeValidator(_fitbasis)] = Field(
        "EVOL", description="Fitting basis; only EVOL for now."
    )
    sum_rules: Annotated[str, BeforeValidator(_sum_rules)] = Field(
        "ALL",
        description="ALL (momentum + valence), MSR, VSR or NONE; true means ALL, false NONE.",
    )
    basis: tuple[BasisFlavour, ...] = Field(
        default_factory=_nnpdf40_basis,
        description="Each EVOL flavour once; default: NNPDF4.0's ranges, not trainable.",
    )

    @model_validator(mode="after")
    def _each_flavour_once(self) -> Fitting:
        seen: set[str] = set()
        for i, flavour in enumerate(self.basis):
            if flavour.fl in seen:
                raise FieldIssue("flavour listed twice", at=("basis", i, "fl"), got=flavour.fl)
            seen.add(flavour.fl)
        missing = [fl for fl in EVOL_FLAVOURS if fl not in seen]
        if missing:
            raise FieldIssue(
                f"missing flavour(s) {', '.join(missing)}",
                at=("basis",),
                got=[f.fl for f in self.basis],
                hint="list each of sng, g, v, v3, v8, t3, t8, t15 once",
            )
        return self


class PositivityDataset(_Block):
    """One entry of ``positivity.posdatasets``."""

    dataset: str = Field(description="Positivity observable, e.g. NNPDF_POS_2P24GEV_XUQ.")
    maxlambda: float = Field(1e6, gt=0, description="Multiplier at the last epoch (1e6).")


class IntegrabilityDataset(_Block):
    """One entry of ``integrability.integdatasets``."""

    dataset: str = Field(description="Integrability observable, e.g. NNPDF_INTEG_3GEV_XT8.")
    maxlambda: float = Field(1e2, gt=0, description="Multiplier at the last epoch (1e2).")


class Positivity(_Block):
    """NNPDF's top-level ``positivity``: which positivity observables are imposed."""

    posdatasets: tuple[PositivityDataset, ...] = Field((), description="None by default.")


class Integrability(_Block):
    """NNPDF's top-level ``integrability``: which integrability observables are imposed."""

    integdatasets: tuple[IntegrabilityDataset, ...] = Field((), description="None by default.")


class ClosureTest(_Block):
    """NNPDF's ``closuretest``: fit pseudodata generated from a known PDF.

    ``fakedata`` alone is a level-0 closure test, with ``fakenoise`` level 1, and with
    ``fakenoise`` and the top-level ``genrep`` (replica fluctuations) level 2.
    """

    filterseed: NonNegativeInt = Field(0, description="Seed of the level-1 noise.")
    fakepdf: str = Field(
        "toy",
        description=(
            "The truth: a built-in analytic PDF (toy, steep_sea, soft_gluon) or an LHAPDF6 set "
            "(a folder, or a name on $LHAPDF_DATA_PATH)."
        ),
    )
    fakedata: bool = Field(False, description="Replace the data by the truth's predictions.")
    fakenoise: bool = Field(False, description="Add one draw of experimental noise to them.")

    @model_validator(mode="after")
    def _noise_needs_fakedata(self) -> ClosureTest:
        if self.fakenoise and not self.fakedata:
            raise FieldIssue(
                "needs fakedata: true",
                at=("fakenoise",),
                got=True,
                hint="noise is added to fake data",
            )
        return self


def _replicas(value: Any) -> Any:
    """Check ``N``, ``[first, last]`` or a list of indices (see ``RunCard.replicas``)."""
    hint = "N, [first, last] or a list of replica indices"
    if isinstance(value, bool) or not isinstance(value, int | list | tuple):
        raise FieldIssue("must be a number of replicas or a list", hint=hint)
    items = [value] if isinstance(value, int) else list(value)
    if not items or any(isinstance(i, bool) or not isinstance(i, int) or i < 1 for i in items):
        raise FieldIssue("must hold whole numbers ≥ 1", hint=hint)
    if len(items) == 2 and items[0] > items[1]:
        raise FieldIssue("[first, last] must have first ≤ last", hint=hint)
    if len(items) != 2 and len(set(items)) != len(items):
        raise FieldIssue("lists a replica twice", hint=hint)
    return value


class RunCard(_Block):
    """A whole runcard: NNPDF's keys plus ``replicas`` and ``backend``."""

    description: str = Field("", description="Free text describing the fit.")
    dataset_inputs: tuple[DatasetInput, ...] = Field(min_length=1, description="Data to fit.")
    datacuts: DataCuts = Field(default_factory=DataCuts, description="Cuts and t0 PDF.")
    theory: Theory = Field(description="The theory (FK tables) to fit with.")
    trvlseed: NonNegativeInt = Field(
        DEFAULT_SEEDS["trvlseed"], description="Seed of the training/validation split."
    )
    nnseed: NonNegativeInt = Field(
        DEFAULT_SEEDS["nnseed"], description="Seed of the network weights and preprocessing."
    )
    mcseed: NonNegativeInt = Field(
        DEFAULT_SEEDS["mcseed"], description="Seed of the Monte Carlo data replicas."
    )
    genrep: bool = Field(True, description="Fit fluctuated data replicas (NNPDF default true).")
    parameters: Parameters = Field(description="The network and its training.")
    fitting: Fitting = Field(
        default_factory=Fitting, description="Basis, preprocessing, sum rules (NNPDF4.0's)."
    )
    positivity: Positivity = Field(
        default_factory=Positivity, description="Positivity observables (none by default)."
    )
    integrability: Integrability = Field(
        default_factory=Integrability, description="Integrability observables (none)."
    )
    closuretest: ClosureTest = Field(
        default_factory=ClosureTest, description="Closure-test settings (off by default)."
    )
    debug: bool = Field(False, description="Extra checks and logging.")
    double_precision: bool = Field(False, description="Train in float64 instead of float32.")
    same_trvl_per_replica: bool = Field(
        False, description="Give every replica the same training/validation split."
    )
    resample_negative_pseudodata: bool = Field(
        False,
        description=(
            "Redraw a Monte Carlo replica while any of its unpolarised data is negative. "
            "n3fit 4.1.5's default, false, keeps every draw, so the replicas' mean is the data; "
            "redrawing biases points whose uncertainty is comparable to their value upwards."
        ),
    )
    diagonal_basis: bool = Field(
        True,
        description=(
            "Split training/validation in the eigenbasis of the (t0) correlation matrix, as "
            "n3fit 4.1.5 does by default: a fraction diagonal_frac of its eigenvectors trains; "
            "false splits each dataset's points by its frac."
        ),
    )
    diagonal_frac: float = Field(
        0.75, gt=0, le=1, description="Fraction of eigenvectors that train (n3fit's 0.75)."
    )
    replicas: Annotated[int | tuple[int, ...], BeforeValidator(_replicas)] = Field(
        1,
        description=(
            "Replicas to fit: N means 1..N, [first, last] the inclusive range, any other list "
            "those indices (a two-item list is always a range)."
        ),
    )
    backend: BackendName | None = Field(
        None, description="tensorflow, jax or torch; null: $KERAS_BACKEND or Keras' default."
    )
    hyperscan_config: HyperscanConfig | None = Field(None, description="Scan search space.")
    kfold: KFold | None = Field(None, description="Folds and statistics of a scan.")

    @property
    def replica_indices(self) -> tuple[int, ...]:
        """The 1-based indices of the replicas to fit, sorted."""
        if isinstance(self.replicas, int):
            return tuple(range(1, self.replicas + 1))
        if len(self.replicas) == 2:
            return tuple(range(self.replicas[0], self.replicas[1] + 1))
        return tuple(sorted(self.replicas))

    @model_validator(mode="after")
    def _consistent(self) -> RunCard:
        names = [d.dataset for d in self.dataset_inputs]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise FieldIssue(
                    "dataset listed twice", at=("dataset_inputs", i, "dataset"), got=name
                )
        last = self.parameters.nodes_per_layer[-1]
        if last != len(self.fitting.basis):
            raise FieldIssue(
                f"the last layer must have {len(self.fitting.basis)} units, one per fitted flavour",
                at=("parameters", "nodes_per_layer", len(self.parameters.nodes_per_layer) - 1),
                got=last,
            )
        self._check_folds(names)
        return self

    def _check_folds(self, names: list[str]) -> None:
        for i, partition in enumerate(self.kfold.partitions if self.kfold else ()):
            for j, name in enumerate(partition.datasets):
                if name not in names:
                    near = closest(name, names)
                    raise FieldIssue(
                        "not in dataset_inputs",
                        at=("kfold", "partitions", i, "datasets", j),
                        got=name,
                        hint=f"did you mean '{near}'?" if near else "add it to dataset_inputs",
                    )
