"""``rs_ilg``: SPARC (or mock) rotation curves → master table → 1D, 2D, 3D, features, trends, pilot → summary.

The same template runs once per mode, as the namespaces ``rs_ilg.compat`` (the original's numbers) and
``rs_ilg.corrected``; the report (namespace ``rs_ilg``, so kedro-viz shows one box) puts both side by side with
the Newtonian and MOND baselines.
"""

from kedro.pipeline import Pipeline, node, pipeline

from ..results_index import with_results_index
from . import nodes

MODES = ("compat", "corrected")
SHARED_INPUTS = {"sparc_release", "rs_ilg_pilot_inputs"}
RUN = "params:rs_ilg.run"
SHARED_PARAMS = {f"{RUN}.{k}" for k in ("cohort", "limit", "on_missing", "kernels", "bench1d", "grid2d", "grid3d",
                                        "features")}  # fmt: skip


def prep_template() -> Pipeline:
    """Master table and features: what the ablations need too."""
    return Pipeline([
        node(nodes.build_master, ["sparc_release", "params:mode", f"{RUN}.cohort", f"{RUN}.limit", f"{RUN}.on_missing"],
             ["master", "master_table", "cohort", "skipped"], name="build_master"),
        node(nodes.features, ["master", "cohort", "params:mode", f"{RUN}.features"], ["features", "feature_table"],
             name="features"),
    ])  # fmt: skip


def analysis_template() -> Pipeline:
    return Pipeline([
        node(nodes.bench1d, ["master", "cohort", "params:mode", f"{RUN}.kernels", f"{RUN}.bench1d"],
             ["bench1d_galaxies", "bench1d_points", "bench1d_skipped"], name="bench1d"),
        node(nodes.grid2d, ["master", "cohort", "params:mode", f"{RUN}.grid2d"],
             ["grid2d_galaxies", "grid2d_points", "grid2d_skipped"], name="grid2d"),
        node(nodes.grid3d, ["master", "cohort", "features", "params:mode", f"{RUN}.grid3d"],
             ["grid3d_galaxies", "grid3d_points", "grid3d_skipped"], name="grid3d"),
        node(nodes.trends, ["grid3d_points", "feature_table", "master", "params:mode"],
             ["trends_by_xi", "trends_by_radius"], name="trends"),
        node(nodes.pilot, ["rs_ilg_pilot_inputs", "master", "params:mode"],
             ["pilot_maps", "pilot_fields", "pilot_features", "pilot_quicklook", "pilot_rd_comparison",
              "pilot_rd_summary"], name="pilot"),
        node(nodes.collect_runs, ["bench1d_galaxies", "grid2d_galaxies", "grid3d_galaxies", "params:mode"], "runs",
             name="collect_runs"),
    ])  # fmt: skip


def per_mode(template: Pipeline) -> Pipeline:
    return sum(
        (pipeline(template, namespace=f"rs_ilg.{m}", inputs=SHARED_INPUTS & template.inputs(),
                  parameters=SHARED_PARAMS & template.inputs())
         for m in MODES),
        start=Pipeline([]),
    )  # fmt: skip


def create_prep_pipeline(**kwargs) -> Pipeline:
    return per_mode(prep_template())


def create_pipeline(**kwargs) -> Pipeline:
    report = Pipeline([
        node(nodes.report, [f"rs_ilg.{m}.runs" for m in MODES],
             ["rs_ilg_summary", "rs_ilg_metrics", "rs_ilg_chi2_figure"], name="report", namespace="rs_ilg"),
        node(nodes.rotation_curves, "rs_ilg.corrected.grid3d_points", "rs_ilg_rotation_curves",
             name="rotation_curves", namespace="rs_ilg"),
    ])  # fmt: skip
    return with_results_index(create_prep_pipeline() + per_mode(analysis_template()) + report, "rs_ilg")
