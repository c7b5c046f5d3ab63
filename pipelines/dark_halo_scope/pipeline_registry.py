"""Project pipelines.

Kedro 1.7's ``find_pipelines`` imports only the folder named by ``--pipeline``, which breaks composite
names, so every pipeline is imported and registered explicitly (``../shared/specs/stack.md`` §3.1).

Every node sits in a namespace named after its pipeline (``rs_ilg``, ``glens``, ``dhs_inject``, ``dhs_train``,
``dhs_gates``, ``ablations``, ``ablation_studies``), so kedro-viz opens on one box per pipeline. Each
``create_pipeline`` ends its namespace in the node ``<namespace>.results_index`` (:mod:`.pipelines.results_index`),
which reads every final output, so kedro-viz draws that one page outside the box instead of each table and figure.
"""

import warnings

from kedro.pipeline import Pipeline

from .pipelines import ablation_studies, ablations, dhs_gates, dhs_inject, dhs_train, glens, rs_ilg


def register_pipelines() -> dict[str, Pipeline]:
    """Map pipeline names to pipelines; ``__default__`` runs everything, sized for the embedded default.

    A node reading another pipeline's output (``dhs_gates`` reads ``dhs_inject.stamp_store``) makes Kedro 1.7
    warn "One or more dataset names contain '.'", though this is how namespaced modular pipelines connect
    (kedro-org/kedro#5021, open). That one message is ignored while the nodes are built;
    ``tests/test_warnings.py`` checks what it would hide: every node is namespaced and writes only datasets
    of its own namespace.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="One or more dataset names contain '.'", category=UserWarning,
                                module="kedro.pipeline.node")  # fmt: skip
        inject, train = dhs_inject.create_pipeline(), dhs_train.create_pipeline()
        pipelines = {
            "rs_ilg": rs_ilg.create_pipeline(),
            "glens": glens.create_pipeline(),
            # each dhs pipeline includes the stages it reads, so it runs alone from a clean clone
            # (add --only-missing-outputs to reuse a store or checkpoint already made)
            "dhs_inject": inject,
            "dhs_train": inject + train,
            "dhs_gates": inject + train + dhs_gates.create_pipeline(),
            "ablations": ablations.create_pipeline() + ablation_studies.create_pipeline(),
        }
    pipelines["__default__"] = sum(pipelines.values(), start=Pipeline([]))
    return pipelines
