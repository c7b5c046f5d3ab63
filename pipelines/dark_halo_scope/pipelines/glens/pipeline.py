"""``glens``: MAPS files → quality → score → source tensors → lensed sets → CNN runs → accuracy tables.

Every node sits in the namespace ``glens`` (kedro-viz collapses it into one box); its datasets are
``glens.<name>`` and it reads ``params:glens.<section>``. Each of the original work's three experiments is the
nested namespace ``glens.<experiment>`` (outputs ``glens.<experiment>.results`` …) with its channel modes fixed
here and its settings in ``params:glens.experiment``. A sweep over subhalo strength and the figures follow.
"""

from kedro.pipeline import Node, Pipeline, node

from ..results_index import with_results_index
from . import nodes

EXPERIMENTS = {
    "lensed_vs_unlensed": ["both"],
    "subhalo_detection": ["flux", "vel", "both"],
    "kinematics_control": ["flux", "vel", "both"],
}
NS = "glens"


def _node(func, inputs: list[str], outputs: list[str] | str, name: str, namespace: str = NS) -> Node:
    """A node of ``namespace``: ``params:<section>`` → ``params:glens.<section>``, ``x`` → ``glens.x``."""
    def full(n: str) -> str:
        return f"params:{NS}.{n.removeprefix('params:')}" if n.startswith("params:") else f"{NS}.{n}"

    outs = full(outputs) if isinstance(outputs, str) else [full(o) for o in outputs]
    ins = [i if i == "manga_sample" else full(i) for i in inputs]
    return node(func, ins, outs, name=name, namespace=namespace)


def _experiment_node(name: str, modes: list[str]) -> Node:
    def run(tensors, settings):
        return nodes.experiment(tensors, settings, name, modes)

    run.__name__ = run.__qualname__ = f"run_{name}"
    run.__doc__ = f"{name} for channel modes {', '.join(modes)} (:func:`nodes.experiment`)."
    outputs = [f"{name}.{o}" for o in ("results", "histories", "checkpoints", "test_set")]
    return _node(run, ["sources", "params:experiment"], outputs, name="run", namespace=f"{NS}.{name}")


def create_pipeline(**kwargs) -> Pipeline:
    return with_results_index(Pipeline([
        _node(nodes.quality, ["manga_sample", "params:maps", "params:quality"], "quality", name="quality"),
        _node(nodes.score, ["quality", "params:lensability"], "scored", name="score"),
        _node(nodes.rank, ["manga_sample", "params:ranking"], "candidates", name="rank"),
        _node(nodes.sources, ["scored", "params:selection", "params:maps", "params:sources"],
              ["sources", "sources_table", "sources_figure"], name="sources"),
        *(_experiment_node(n, m) for n, m in EXPERIMENTS.items()),
        _node(nodes.sweep, ["sources", "params:experiment", "params:sweep"], ["sweep", "sweep_figure"], name="sweep"),
        _node(nodes.figures, ["sources", "sources_table", "params:experiment"],
              ["ring_figure", "horseshoe_figure", "debug_triplet_figure"], name="figures"),
        _node(nodes.report, [f"{n}.results" for n in EXPERIMENTS] + ["sweep"], ["accuracy", "metrics"], name="report"),
    ]), NS)  # fmt: skip
