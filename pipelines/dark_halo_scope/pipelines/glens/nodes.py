"""Thin nodes of the ``glens`` pipeline: MAPS → quality → score → source tensors → lensed sets → CNN runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from glens_sim.sample import MangaSample


def quality(sample: MangaSample, params: dict[str, Any]) -> pd.DataFrame:
    """Quality metrics of every MAPS file (a bad file is a flagged row naming it, not a crash)."""
    from glens_sim.quality import QualityConfig, quality_table

    return quality_table(sample.maps, QualityConfig(**params.get("quality", {})), progress=True)


def score(table: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Lensability score, hard rejects and tiers."""
    from glens_sim.lensability import LensabilityConfig, score_table

    return score_table(table, LensabilityConfig(**params.get("lensability", {})))


def rank(sample: MangaSample, params: dict[str, Any]) -> pd.DataFrame:
    """Catalogue-level candidate ranking from the folder's DAPall/DRPall (empty when they are absent)."""
    from glens_sim.ranking import RankingConfig, rank_candidates, read_dapall, read_drpall

    if sample.dapall is None or sample.drpall is None:
        return pd.DataFrame({"note": [f"no DAPall/DRPall catalogue in {sample.folder}"]})
    return rank_candidates(read_dapall(sample.dapall), read_drpall(sample.drpall), RankingConfig(**params.get("ranking", {})))


def sources(scored: pd.DataFrame, params: dict[str, Any]):
    """Source tensors (2, N, N) of the galaxies that pass the hard rejects, their table and previews."""
    from glens_sim.sources import SourceConfig, build_source_tensors, source_preview_figure

    keep = scored.loc[~scored["lens_hard_reject"].astype(bool), "file"].tolist()
    if not keep:
        raise ValueError("glens: every galaxy was rejected by the lensability score; nothing to lens")
    tensors, table = build_source_tensors(keep, SourceConfig(**params.get("sources", {})), progress=True)
    previews = {pid: source_preview_figure(t, title=pid) for pid, t in tensors.items()}
    return tensors, table, previews


def _experiment_config(params: dict[str, Any], overrides: dict[str, Any] | None = None):
    from glens_sim.config import LensSimConfig
    from glens_sim.experiments import ExperimentConfig

    p = {**params["experiment"], **(overrides or {})}
    lens = LensSimConfig(**p.pop("lens", {}))
    return ExperimentConfig(**p, lens=lens)


def experiment(tensors: dict[str, np.ndarray], params: dict[str, Any], name: str, modes: list[str]):
    """One experiment (lensed_vs_unlensed, subhalo_detection or kinematics_control) for ``modes``:
    result table, training histories, checkpoints, and the rendered test set (the "lensed set")."""
    from glens_sim.experiments import build_experiment_data, train_on

    data = build_experiment_data(tensors, _experiment_config(params), name, progress=True)
    runs = train_on(data, modes, progress=True)
    test = {"images": data.test.images.numpy(), "labels": data.test.labels.numpy(),
            "galaxy": data.test.meta["galaxy"].to_numpy(str)}  # fmt: skip
    return runs.table, runs.histories, runs.checkpoints, test


def sweep(tensors: dict[str, np.ndarray], params: dict[str, Any]):
    """Subhalo detection over subhalo strength × PSF × noise: tidy table and its figure."""
    from glens_sim.experiments import run_sweep
    from glens_sim.figures import sweep_figure

    s = params["sweep"]
    runs = run_sweep(
        tensors, _experiment_config(params, s.get("experiment")), channel_modes=s["channel_modes"],
        factors=s.get("factors"), psf_sigmas=s.get("psf_sigmas"),
        noises=[tuple(n) for n in s["noises"]] if s.get("noises") else None, progress=True,
    )  # fmt: skip
    return runs.table, sweep_figure(runs.table, x="factor", title="subhalo detection vs subhalo strength")


def figures(tensors: dict[str, np.ndarray], params: dict[str, Any]):
    """Ring, kinematic horseshoe and debug triplet of the first source."""
    from glens_sim.figures import debug_triplet_figure, horseshoe_figure, ring_figure

    pid = sorted(tensors)[0]
    cfg = _experiment_config(params).sim_config()
    seed = int(params["experiment"].get("seed", 0))
    return (ring_figure(tensors[pid], cfg, seed=seed, title=pid), horseshoe_figure(tensors[pid], cfg, seed=seed, title=pid),
            debug_triplet_figure(tensors[pid], cfg, seed=seed, title=pid))  # fmt: skip


def report(*tables: pd.DataFrame):
    """All runs in one accuracy table, with its MLflow metrics."""
    table = pd.concat(tables, ignore_index=True)
    metrics = {f"{r.experiment}.{r.channel_mode}.accuracy": r.accuracy for r in table.itertuples()}
    metrics.update({f"{r.experiment}.{r.channel_mode}.auc": r.auc for r in table.itertuples()})
    return table, {"metrics": metrics}
