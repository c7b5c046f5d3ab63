"""``dhs_inject``: survey (bricks + LRG catalogue) → manifest with splits → stamp store → previews, summary.

The store (``dhs_inject.stamp_store``) is what ``dhs_train`` and ``dhs_gates`` read; its schema is
``docs/stamp_store.md``. On the embedded default the survey is generated on first read (synthetic bricks in
the real DR10 format hosting real LRG photometry); ``conf/real`` points the same entry at real bricks.
"""

from kedro.pipeline import Pipeline, node

from ..results_index import with_results_index
from . import nodes


def create_pipeline(**kwargs) -> Pipeline:
    """The nodes of namespace ``dhs_inject`` (one box in kedro-viz); dataset names keep their ``dhs_inject.`` prefix."""
    return with_results_index(Pipeline([
        node(nodes.manifest, ["dhs_inject.survey", "params:dhs_inject.manifest"], "dhs_inject.manifest",
             name="manifest", namespace="dhs_inject"),
        node(nodes.stamp_store, ["dhs_inject.manifest", "dhs_inject.survey", "params:dhs_inject.render",
                                 "params:dhs_inject.runner"], "dhs_inject.stamp_store",
             name="stamp_store", namespace="dhs_inject"),
        node(nodes.summary, "dhs_inject.stamp_store", "dhs_inject.summary", name="summary", namespace="dhs_inject"),
        node(nodes.previews, ["dhs_inject.stamp_store", "params:dhs_inject.previews"], "dhs_inject.previews",
             name="previews", namespace="dhs_inject"),
    ]), "dhs_inject")  # fmt: skip
