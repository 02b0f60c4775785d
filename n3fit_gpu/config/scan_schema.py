"""Runcard blocks of a hyperparameter scan: ``hyperscan_config`` (the search space) and ``kfold``.

Keys and meanings are NNPDF's. Every ``min_*`` / ``max_*`` pair must be given together and be
ordered; ranges written ``[min, max]`` must be ordered too. Whether the fold datasets are part
of the fit is checked by :class:`~n3fit_gpu.config.schema.RunCard`, which sees both blocks.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from n3fit_gpu.config.vocabulary import (
    ActivationName,
    DropoutRate,
    InitializerName,
    LayerType,
    LossType,
    OptimizerName,
    PenaltyName,
    PositiveRange,
    Statistic,
    check_pair,
)

Fraction = Annotated[float, Field(gt=0, le=1)]


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


class HyperscanConfig(_Block):
    """NNPDF's ``hyperscan_config``: the search space of a hyperparameter scan."""

    stopping: ScanStopping | None = Field(None, description="Epochs and patience ranges.")
    optimizer: tuple[ScanOptimizer, ...] | None = Field(
        None, min_length=1, description="Optimizers to choose from."
    )
    positivity: ScanPositivity | None = Field(None, description="Positivity multiplier ranges.")
    architecture: ScanArchitecture | None = Field(None, description="Network shapes.")


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
