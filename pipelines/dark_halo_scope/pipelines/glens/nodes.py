"""Thin nodes of the ``glens`` pipeline: MAPS → quality → score → source tensors → lensed sets → CNN runs.

Each node takes the one ``params:glens.<section>`` it needs and builds the glens-sim configuration type of
that section from it; every default is the package's. The glens-sim modules are imported inside the
nodes, so listing pipelines (``kedro registry list``) imports neither torch nor matplotlib; the names in
the annotations are imported here, where Kedro's type-hint extraction resolves them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from glens_sim.sample import MangaSample


def quality(sample: MangaSample, maps: dict[str, Any], settings: dict[str, Any]) -> pd.DataFrame:
    """Quality metrics of every MAPS file (a bad file is a flagged row naming it, not a crash)."""
    from glens_sim.maps_io import ReadOptions
    from glens_sim.quality import QualityConfig, quality_table

    return quality_table(sample.maps, QualityConfig(**settings), **ReadOptions(**maps).kwargs())


def score(table: pd.DataFrame, settings: dict[str, Any]) -> pd.DataFrame:
    """Lensability score, hard rejects and tiers."""
    from glens_sim.lensability import LensabilityConfig, score_table

    return score_table(table, LensabilityConfig(**settings))


def rank(sample: MangaSample, settings: dict[str, Any]) -> pd.DataFrame:
    """Catalogue-level candidate ranking from the folder's DAPall/DRPall (a one-row note when they are absent)."""
    from glens_sim.ranking import RankingConfig, rank_candidates, read_dapall, read_drpall

    cfg = RankingConfig(**settings)
    if sample.dapall is None or sample.drpall is None:
        return pd.DataFrame({"note": [f"no DAPall/DRPall catalogue in {sample.folder}"]})
    return rank_candidates(read_dapall(sample.dapall, cfg.daptype), read_drpall(sample.drpall), cfg)


def sources(scored: pd.DataFrame, selection: dict[str, Any], maps: dict[str, Any], settings: dict[str, Any]):
    """Source tensors (2, N, N) of the selected galaxies, their table, and a gallery of them in arcseconds."""
    from glens_sim.lensability import SourceSelection, select_sources
    from glens_sim.maps_io import ReadOptions
    from glens_sim.sources import SourceConfig, build_source_tensors, source_gallery_figure

    chosen = select_sources(scored, SourceSelection(**selection))
    if chosen.empty:
        raise ValueError(f"glens: no galaxy of the tiers {selection or 'default'} passed the lensability score")
    tensors, table = build_source_tensors(chosen["file"], SourceConfig(**settings), **ReadOptions(**maps).kwargs())
    return tensors, table, source_gallery_figure(tensors, table)


def experiment(tensors: dict[str, np.ndarray], settings: dict[str, Any], name: str, modes: list[str]):
    """One experiment for ``modes``: result table, training histories, checkpoints and the rendered test set."""
    from glens_sim.experiments import ExperimentConfig, build_experiment_data, train_on

    data = build_experiment_data(tensors, ExperimentConfig(**settings), name)
    runs = train_on(data, modes)
    test = {"images": data.test.images.numpy(), "labels": data.test.labels.numpy(),
            "galaxy": data.test.meta["galaxy"].to_numpy(str)}  # fmt: skip
    return runs.table, runs.histories, runs.checkpoints, test


def sweep(tensors: dict[str, np.ndarray], experiment: dict[str, Any], settings: dict[str, Any]):
    """The sweep of ``params:glens.sweep`` around the headline experiment: tidy table and its figure."""
    from glens_sim.experiments import ExperimentConfig, SweepConfig
    from glens_sim.figures import sweep_figure

    runs = SweepConfig(**settings).run(tensors, ExperimentConfig(**experiment))
    return runs.table, sweep_figure(runs.table, x="factor", title="subhalo detection vs subhalo strength")


def figures(tensors: dict[str, np.ndarray], table: pd.DataFrame, experiment: dict[str, Any]):
    """Ring, kinematic horseshoe and debug triplet of the first source, in arcseconds."""
    from glens_sim.experiments import ExperimentConfig
    from glens_sim.figures import debug_triplet_figure, horseshoe_figure, ring_figure

    cfg = ExperimentConfig(**experiment)
    pid = sorted(tensors)[0]
    scale = float(table.set_index("plateifu").loc[pid, "arcsec_per_unit"])
    kw = {"seed": cfg.seed, "title": pid, "arcsec_per_unit": scale}
    return (ring_figure(tensors[pid], cfg.lens, **kw), horseshoe_figure(tensors[pid], cfg.lens, **kw),
            debug_triplet_figure(tensors[pid], cfg.lens, **kw))  # fmt: skip


def report(*tables: pd.DataFrame):
    """All runs in one accuracy table (a repeated ``run_id`` is an error), with its MLflow metrics:
    the headline experiments by experiment and channel mode, the sweep's under ``sweep.`` by setting."""
    from glens_sim.experiments import accuracy_table, run_metrics

    *headline, swept = tables
    main = accuracy_table(*headline)
    return accuracy_table(main, swept), {"metrics": run_metrics(main) | run_metrics(swept, "sweep.", by_setting=True)}
