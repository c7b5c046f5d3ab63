"""``ablations``: the rs_ilg 3D run as namespaced variants (spec §10), one MLflow child run each, one study table.

Variant names are code (Kedro namespaces are fixed at registration); what each variant changes is
configuration: ``ablations.<variant>.overrides`` in ``conf/base/parameters_ablations.yml``.
"""

from kedro.pipeline import Pipeline, node, pipeline

from ..rs_ilg.pipeline import MODES, create_prep_pipeline
from . import nodes

VARIANTS = ("baseline", "d_to_i", "gext0", "const_sigma", "no_inner_mask", "k1_null", "permute_features")


def variant_template() -> Pipeline:
    runs = [
        node(nodes.run_variant,
             [f"rs_ilg.{m}.master", f"rs_ilg.{m}.cohort", f"rs_ilg.{m}.features", f"params:rs_ilg.{m}.mode",
              "params:rs_ilg.run.grid3d", "params:ablations.study", "params:overrides"], f"{m}_galaxies", name=m)
        for m in MODES
    ]  # fmt: skip
    metrics = node(nodes.variant_metrics, [f"{m}_galaxies" for m in MODES] + ["params:overrides"], "metrics", name="metrics")
    return Pipeline([*runs, metrics])


def create_pipeline(**kwargs) -> Pipeline:
    template = variant_template()
    shared = {i for i in template.inputs() if i.startswith("rs_ilg.")}
    params = {"params:rs_ilg.run.grid3d", "params:ablations.study", *(f"params:rs_ilg.{m}.mode" for m in MODES)}
    variants = sum(
        (pipeline(template, namespace=f"ablations.{v}", inputs=shared, parameters=params) for v in VARIANTS),
        start=Pipeline([]),
    )
    table = node(
        nodes.study_table,
        {f"{v}.{m}": f"ablations.{v}.{m}_galaxies" for v in VARIANTS for m in MODES},
        ["ablations_rs_ilg_3d", "ablations_rs_ilg_3d_figure"],
        name="ablations_study_table",
    )
    return create_prep_pipeline() + variants + Pipeline([table])
