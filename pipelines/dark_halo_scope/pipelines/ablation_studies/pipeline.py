"""``ablation_studies``: the seeds' ablation studies besides rs-ilg's, each variant a namespaced modular pipeline.

Studies (one module each; :mod:`.common` holds the layout and the common table format):
:mod:`.mitigation` (dhs-train hard negatives × core dropout), :mod:`.preproc_pairing` (shortcut gates per
preprocessing and pairing), :mod:`.glens_channels` (glens flux / velocity / both per regime) and
:mod:`.centre_masked` (centre-masked diagnostic of dhs_train's model). What each variant changes is configuration,
``ablation_studies.<study>.<variant>.overrides`` in ``conf/base/parameters_ablation_studies.yml``, and so is the
list of variants: a new variant is a few lines of YAML, read when the pipeline is registered (the rule for which
environment counts: :mod:`.common`).

The pipeline includes the nodes that make its inputs (``dhs_inject`` up to the stamp store, ``dhs_train`` up to the
checkpoint, ``glens`` up to the source tensors: their own nodes, not copies), so it runs from a clean clone. One
study alone: ``kedro run --pipeline ablations --namespaces ablation_studies.<study>`` (inputs already made).
"""

from kedro.pipeline import Pipeline

from ..dhs_inject import create_pipeline as dhs_inject_pipeline
from ..dhs_train import create_pipeline as dhs_train_pipeline
from ..glens import create_pipeline as glens_pipeline
from ..results_index import with_results_index
from . import centre_masked, glens_channels, mitigation, preproc_pairing

STUDIES = {m.STUDY: m for m in (mitigation, preproc_pairing, glens_channels, centre_masked)}


def create_inputs_pipeline() -> Pipeline:
    """The upstream nodes the studies read from: stamp store, dhs_train checkpoint, glens source tensors."""
    return (dhs_inject_pipeline().to_outputs("dhs_inject.stamp_store")
            + dhs_train_pipeline().to_outputs("dhs_train.checkpoint")
            + glens_pipeline().to_outputs("glens.sources"))  # fmt: skip


def create_pipeline(**kwargs) -> Pipeline:
    studies = sum((m.create_pipeline() for m in STUDIES.values()), start=Pipeline([]))
    return with_results_index(create_inputs_pipeline() + studies, "ablation_studies")
