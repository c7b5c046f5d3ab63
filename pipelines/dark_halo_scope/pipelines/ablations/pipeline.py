"""``ablations``: the rs_ilg 3D run as namespaced variants (spec §10, seed ``000``), one MLflow child run each,
one study table in the common format of every ablation study (:mod:`..ablation_studies.common`).

The variants are configuration: every key of ``params:ablations`` other than ``study``
(``conf/base/parameters_ablations.yml`` merged with the run environment's, read when the pipeline is registered —
the rule: :mod:`..ablation_studies.common`), each with the ``overrides`` it applies to the study's 3D grid settings.
A variant named ``baseline`` is required: the table measures every variant against it.
"""

from kedro.pipeline import Pipeline, node, pipeline

from ..ablation_studies.common import variant_names
from ..results_index import with_results_index
from ..rs_ilg.pipeline import MODES, create_prep_pipeline
from . import nodes

SECTION = "ablations"


def variant_template() -> Pipeline:
    runs = [
        node(nodes.run_variant,
             [f"rs_ilg.{m}.master", f"rs_ilg.{m}.cohort", f"rs_ilg.{m}.features", f"params:rs_ilg.{m}.mode",
              "params:rs_ilg.run.grid3d", "params:ablations.study", "params:overrides"], f"{m}_galaxies", name=m)
        for m in MODES
    ]  # fmt: skip
    metrics = node(nodes.variant_metrics,
                   {**{m: f"{m}_galaxies" for m in MODES}, "grid3d": "params:rs_ilg.run.grid3d",
                    "study": "params:ablations.study", "overrides": "params:overrides",
                    "size": "params:ablation_studies.size"}, "metrics", name="metrics")  # fmt: skip
    return Pipeline([*runs, metrics])


def create_pipeline(**kwargs) -> Pipeline:
    template = variant_template()
    variants = variant_names(SECTION)
    shared = {i for i in template.inputs() if i.startswith("rs_ilg.")}
    params = {"params:rs_ilg.run.grid3d", "params:ablations.study", "params:ablation_studies.size",
              *(f"params:rs_ilg.{m}.mode" for m in MODES)}
    variants_pipe = sum(
        (pipeline(template, namespace=f"{SECTION}.{v}", inputs=shared, parameters=params) for v in variants),
        start=Pipeline([]),
    )
    inputs = {f"{v}.{m}": f"{SECTION}.{v}.{m}_galaxies" for v in variants for m in MODES}
    inputs |= {f"{v}.metrics": f"{SECTION}.{v}.metrics" for v in variants}
    outputs = [f"{SECTION}.{o}" for o in ("table", "markdown", "figure")]
    table = node(nodes.study_table, inputs, outputs, name="table", namespace=SECTION)
    return with_results_index(create_prep_pipeline() + variants_pipe + Pipeline([table]), SECTION)

