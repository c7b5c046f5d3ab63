"""``glens``: MAPS files → quality → score → source tensors → lensed sets → CNN runs → accuracy tables.

The three experiments of the original work each get a node (their names are fixed here; their settings
are ``glens.*`` parameters), plus a sweep over subhalo strength and the figures.
"""

from functools import partial, update_wrapper

from kedro.pipeline import Pipeline, node

from . import nodes

EXPERIMENTS = {
    "lensed_vs_unlensed": ["both"],
    "subhalo_detection": ["flux", "vel", "both"],
    "kinematics_control": ["flux", "vel", "both"],
}


def _experiment_node(name: str, modes: list[str]):
    func = update_wrapper(partial(nodes.experiment, name=name, modes=modes), nodes.experiment)
    return node(func, ["glens_sources", "params:glens"],
                [f"glens.{name}.results", f"glens.{name}.histories", f"glens.{name}.checkpoints", f"glens.{name}.test_set"],
                name=f"glens_{name}")  # fmt: skip


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        node(nodes.quality, ["manga_sample", "params:glens"], "glens_quality", name="glens_quality"),
        node(nodes.score, ["glens_quality", "params:glens"], "glens_scored", name="glens_score"),
        node(nodes.rank, ["manga_sample", "params:glens"], "glens_candidates", name="glens_rank"),
        node(nodes.sources, ["glens_scored", "params:glens"],
             ["glens_sources", "glens_sources_table", "glens_source_previews"], name="glens_sources"),
        *(_experiment_node(n, m) for n, m in EXPERIMENTS.items()),
        node(nodes.sweep, ["glens_sources", "params:glens"], ["glens_sweep", "glens_sweep_figure"], name="glens_sweep"),
        node(nodes.figures, ["glens_sources", "params:glens"],
             ["glens_ring_figure", "glens_horseshoe_figure", "glens_debug_triplet_figure"], name="glens_figures"),
        node(nodes.report, [f"glens.{n}.results" for n in EXPERIMENTS] + ["glens_sweep"],
             ["glens_accuracy", "glens_metrics"], name="glens_report"),
    ])  # fmt: skip
