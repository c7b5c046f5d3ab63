"""Project pipelines.

Kedro 1.7's ``find_pipelines`` imports only the folder named by ``--pipeline``, which breaks composite
names, so every pipeline is imported and registered explicitly (``../shared/specs/stack.md`` §3.1).
"""

from kedro.pipeline import Pipeline

from .pipelines import ablations, dhs_gates, dhs_inject, dhs_train, glens, rs_ilg


def register_pipelines() -> dict[str, Pipeline]:
    """Map pipeline names to pipelines; ``__default__`` runs everything, sized for the embedded default."""
    pipelines = {
        "rs_ilg": rs_ilg.create_pipeline(),
        "glens": glens.create_pipeline(),
        "dhs_inject": dhs_inject.create_pipeline(),
        "dhs_train": dhs_train.create_pipeline(),
        "dhs_gates": dhs_gates.create_pipeline(),
        "ablations": ablations.create_pipeline(),
    }
    pipelines["__default__"] = sum(pipelines.values(), start=Pipeline([]))
    return pipelines
