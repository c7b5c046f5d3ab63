"""The `dhs_inject` pipeline."""

from .pipeline import create_pipeline

#: configuration type of each parameter section this pipeline reads (validated when a run starts)
PARAMETERS = {
    "dhs_inject.manifest": "dhs_inject.manifest:ManifestConfig",
    "dhs_inject.render": "dhs_inject.kernel:InjectConfig",
    "dhs_inject.runner": "dhs_inject.runners:RunnerConfig",
    "dhs_inject.previews": "dhs_inject.report:PreviewConfig",
}

__all__ = ["PARAMETERS", "create_pipeline"]
