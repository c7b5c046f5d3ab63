"""``dhs_train``: stamp store → checkpoint → validation/test scores, real-cutout scores → metrics and curves.

Reads ``dhs_inject.stamp_store`` (run ``dhs_inject`` first) and the six real DR10 cutouts of
``${shared:data/dhs_upstream/cutouts}``; on the embedded default it trains a narrow ResNet-18 for a few epochs.
"""

from kedro.pipeline import Pipeline, node

from ..results_index import with_results_index
from . import nodes

#: node-level namespace: kedro-viz collapses the nodes into one box; dataset names are unchanged
NS = "dhs_train"


def create_pipeline(**kwargs) -> Pipeline:
    return with_results_index(Pipeline([
        node(nodes.train, ["dhs_inject.stamp_store", "params:dhs_train.data", "params:dhs_train.train",
                           "params:dhs_train.run", "params:dhs_train.gates"], ["dhs_train.checkpoint", "dhs_train.history"],
             name="fit", namespace=NS),
        node(nodes.score, ["dhs_train.checkpoint", "dhs_inject.stamp_store", "params:dhs_train.val_split"],
             "dhs_train.val_scores", name="score_val", namespace=NS),
        node(nodes.score, ["dhs_train.checkpoint", "dhs_inject.stamp_store", "params:dhs_train.test_split"],
             "dhs_train.test_scores", name="score_test", namespace=NS),
        node(nodes.score_cutouts, ["dhs_train.checkpoint", "dhs_train.real_cutouts"], "dhs_train.cutout_scores",
             name="score_cutouts", namespace=NS),
        node(nodes.report, ["dhs_train.history", "dhs_train.val_scores", "dhs_train.test_scores",
                            "dhs_train.cutout_scores", "dhs_train.checkpoint"],
             ["dhs_train.metrics", "dhs_train.curves"], name="report", namespace=NS),
    ]), NS)  # fmt: skip
