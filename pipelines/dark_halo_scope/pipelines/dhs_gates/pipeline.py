"""``dhs_gates``: stamp store + dhs_train checkpoint (+ anchors, lenscat) → gate results (JSON) → HTML report, metrics.

The registered ``dhs_gates`` pipeline is this one plus ``dhs_inject`` and ``dhs_train`` (see
``pipeline_registry.py``), so ``kedro run --pipeline dhs_gates`` works from a clean clone; to re-judge an existing
store and checkpoint only, add ``--only-missing-outputs``.
"""

from kedro.pipeline import Pipeline, node

from ..results_index import with_results_index
from . import nodes


def create_pipeline(**kwargs) -> Pipeline:
    """The gate nodes (inputs: ``dhs_inject.stamp_store``, ``dhs_train.checkpoint``)."""
    return with_results_index(Pipeline([
        node(nodes.gates, ["dhs_inject.stamp_store", "dhs_train.checkpoint", "dhs_gates.anchors", "dhs_gates.lenscat",
                           "params:dhs_gates"], "dhs_gates.results", name="results", namespace="dhs_gates"),
        node(nodes.page, "dhs_gates.results", "dhs_gates.report", name="report", namespace="dhs_gates"),
        node(nodes.metrics, "dhs_gates.results", "dhs_gates.metrics", name="metrics", namespace="dhs_gates"),
    ]), "dhs_gates")  # fmt: skip

