"""The `dhs_train` pipeline; ``PARAMETERS`` names the type validating each of its parameter sections."""

from .pipeline import create_pipeline

#: configuration type of each parameter section this pipeline reads (validated when a run starts)
PARAMETERS = {
    "dhs_train.data": "dhs_train.data:DataConfig",
    "dhs_train.train": "dhs_train.training:TrainConfig",
    "dhs_train.run": "dark_halo_scope.pipelines.dhs_train.params:RunSettings",
    "dhs_train.gates": "dark_halo_scope.pipelines.dhs_train.params:EpochGates",
}

__all__ = ["PARAMETERS", "create_pipeline"]
