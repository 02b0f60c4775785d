"""Runcard blocks of a hyperparameter scan: ``hyperscan_config`` (the search space) and ``kfold``.

Keys and meanings are NNPDF's. Every ``min_*`` / ``max_*`` pair must be given together and be
ordered; ranges written ``[min, max]`` must be ordered too. Whether the fold datasets are part
of the fit is checked by :class:`~n3fit_gpu.config.schema.RunCard`, which sees both blocks.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveInt, model_validator

from n3fit_gpu.config.vocabulary import (
    ActivationName,
    DropoutRate,
    FieldIssue,
    InitializerName,
    LayerType,
    LossType,
    OptimizerName,
    PenaltyName,
    PositiveRange,
    Statistic,
    canonical,
    check_pair,
)

Fraction = Annotated[float, Field(gt=0, le=1)]
# the sections of hyperscan_config that scan something, which block_search splits into blocks
SCAN_SECTIONS = ("stopping", "optimizer", "positivity", "architecture")
SectionName = Annotated[
    str, BeforeValidator(lambda name: canonical(name, SCAN_SECTIONS, "hyperscan_config section"))
]


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScanStopping(_Block):
    """Ranges of ``epochs`` and ``stopping_patience`` tried by the scan."""

    min_epochs: PositiveInt | None = Field(None, description="Fewest epochs a trial may run.")
    max_epochs: PositiveInt | None = Field(None, description="Most epochs a trial may run.")
    min_patience: Fraction | None = Field(None, description="Smallest patience (fraction).")
    max_patience: Fraction | None = Field(None, description="Largest patience (fraction).")

    @model_validator(mode="after")
    def _ordered(self) -> ScanStopping:
        check_pair(self, "min_epochs", "max_epochs")
        check_pair(self, "min_patience", "max_patience")
        return self


class ScanOptimizer(_Block):
    """One optimizer the scan may pick, with the ranges of its learning rate and clipnorm."""

    optimizer_name: OptimizerName = Field(description="SGD, Adam, Nadam, RMSprop, Adadelta...")
    learning_rate: PositiveRange | None = Field(
        None, description="[min, max] learning rate, sampled log-uniformly; null: the default."
    )
    clipnorm: PositiveRange | None = Field(
        None, description="[min, max] per-replica gradient-norm limit; null: no clipping."
    )


class ScanPositivity(_Block):
    """Ranges of the positivity Lagrange multiplier's growth factor and initial value."""

    min_multiplier: float | None = Field(None, gt=0, description="Smallest growth factor.")
    max_multiplier: float | None = Field(None, gt=0, description="Largest growth factor.")
    min_initial: float | None = Field(None, gt=0, description="Smallest initial multiplier.")
    max_initial: float | None = Field(None, gt=0, description="Largest initial multiplier.")

    @model_validator(mode="after")
    def _ordered(self) -> ScanPositivity:
        check_pair(self, "min_multiplier", "max_multiplier")
        check_pair(self, "min_initial", "max_initial")
        return self


class ScanArchitecture(_Block):
    """Network shapes the scan may try; ``null`` keeps the value of ``parameters``."""

    initializers: tuple[InitializerName, ...] | None = Field(
        None, min_length=1, description="Weight initialisers to choose from."
    )
    max_drop: DropoutRate | None = Field(
        None, ge=0, lt=1, description="Largest dropout rate; only 0 for now."
    )
    n_layers: tuple[PositiveInt, ...] | None = Field(
        None, min_length=1, description="Numbers of layers to choose from (last one: 8 units)."
    )
    min_units: PositiveInt | None = Field(None, description="Fewest units of a hidden layer.")
    max_units: PositiveInt | None = Field(None, description="Most units of a hidden layer.")
    activations: tuple[ActivationName, ...] | None = Field(
        None, min_length=1, description="Hidden-layer activations to choose from."
    )
    layer_types: tuple[LayerType, ...] | None = Field(
        None, min_length=1, description="Layer types to choose from (only dense for now)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> ScanArchitecture:
        check_pair(self, "min_units", "max_units")
        return self


class EarlyTermination(_Block):
    """Asynchronous successive halving: trials are judged at ``min_epochs * eta**i`` epochs."""

    min_epochs: PositiveInt = Field(description="The first rung: epochs before any judgement.")
    eta: float = Field(
        3.0, gt=1, description="Each rung keeps the best 1/eta of the trials (default 3)."
    )
    bootstrap: int = Field(
        3, ge=0, description="Trials recorded at a rung before any is stopped (default 3)."
    )
    statistic: Statistic | None = Field(
        None, description="How a trial's replicas combine; null: kfold.replica_statistic."
    )


class BlockSearch(_Block):
    """Per-block search: the scanned sections split into blocks, searched one at a time."""

    blocks: dict[str, Annotated[tuple[SectionName, ...], Field(min_length=1)]] = Field(
        min_length=1, description="Block name -> the hyperscan_config sections it searches."
    )
    startup_trials: PositiveInt | None = Field(
        None, description="Joint random trials before the block search; null: TPE's startup."
    )
    min_share: float = Field(
        0.1, ge=0, lt=1, description="Least share of the later trials per block (≤ 1/blocks)."
    )

    @model_validator(mode="after")
    def _each_section_once(self) -> BlockSearch:
        owner: dict[str, str] = {}
        for name, sections in self.blocks.items():
            for i, section in enumerate(sections):
                if section in owner:
                    raise FieldIssue(
                        f"already in block '{owner[section]}'",
                        at=("blocks", name, i),
                        got=section,
                        hint="list each section in one block only",
                    )
                owner[section] = name
        if self.min_share * len(self.blocks) > 1:
            raise FieldIssue(
                f"must be ≤ 1/{len(self.blocks)} with {len(self.blocks)} blocks",
                at=("min_share",),
                got=self.min_share,
            )
        return self


class HyperscanConfig(_Block):
    """NNPDF's ``hyperscan_config``: the search space of a hyperparameter scan."""

    stopping: ScanStopping | None = Field(None, description="Epochs and patience ranges.")
    optimizer: tuple[ScanOptimizer, ...] | None = Field(
        None, min_length=1, description="Optimizers to choose from."
    )
    positivity: ScanPositivity | None = Field(None, description="Positivity multiplier ranges.")
    architecture: ScanArchitecture | None = Field(None, description="Network shapes.")
    early_termination: EarlyTermination | None = Field(
        None, description="Stop unpromising trials early (ASHA on epochs); null: never."
    )
    block_search: BlockSearch | None = Field(
        None, description="Search the sections block by block; null: all at once."
    )

    @model_validator(mode="after")
    def _blocks_cover_the_scan(self) -> HyperscanConfig:
        if self.block_search is None:
            return self
        scanned = [section for section in SCAN_SECTIONS if getattr(self, section) is not None]
        for name, sections in self.block_search.blocks.items():
            for i, section in enumerate(sections):
                if section not in scanned:
                    raise FieldIssue(
                        "not scanned: hyperscan_config has no such section",
                        at=("block_search", "blocks", name, i),
                        got=section,
                        hint="remove it from the block, or scan it",
                    )
        listed = {section for sections in self.block_search.blocks.values() for section in sections}
        missing = [section for section in scanned if section not in listed]
        if missing:
            raise FieldIssue(
                f"the scanned section '{missing[0]}' is in no block",
                at=("block_search", "blocks"),
                hint="add it to one block",
            )
        return self


class Partition(_Block):
    """One fold: the datasets left out of training and scored."""

    datasets: tuple[str, ...] = Field(min_length=1, description="Names from dataset_inputs.")


class KFold(_Block):
    """NNPDF's ``kfold``: how each scan trial is scored over folds and replicas."""

    partitions: tuple[Partition, ...] = Field(min_length=1, description="The folds.")
    threshold: float = Field(
        50.0, gt=0, description="A trial stops early when a fold's loss exceeds it (NNPDF: 50)."
    )
    penalties: tuple[PenaltyName, ...] = Field(
        (), description="Added to each fold's loss: saturation, patience, integrability."
    )
    loss_type: LossType = Field("chi2", description="chi2 or phi2 per fold (default chi2).")
    replica_statistic: Statistic = Field(
        "average", description="How a fold's replicas combine: average, average_best, ..."
    )
    fold_statistic: Statistic = Field(
        "average", description="How the folds combine into the trial loss (default average)."
    )
    penalties_in_loss: bool = Field(False, description="Add the penalties to the loss itself.")
    reduce_proportion: float = Field(
        0.85,
        gt=0,
        le=1,
        description="average_best over replicas keeps the best ceil(reduce_proportion * "
        "replicas) of them (n3fit: 0.85; with 4 replicas all are kept, 0.75 drops one).",
    )
