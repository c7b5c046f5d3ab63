"""Thin glue between the catalog and dhs-inject (every computation is a package function)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the package (torch, scipy, astropy) is imported when a node runs, not when pipelines register
    import pandas as pd
    from matplotlib.figure import Figure

    from dhs_inject.runners import InjectionJob
    from dhs_inject.survey import Survey


def manifest(survey: Survey, params: dict[str, Any]) -> pd.DataFrame:
    """LRG hosts + bricks table → manifest with HEALPix splits, paired and unpaired controls."""
    from dhs_inject.manifest import ManifestConfig, build_manifest

    return build_manifest(survey.lrgs, survey.bricks, ManifestConfig(**params))


def stamp_store(manifest: pd.DataFrame, survey: Survey, render: dict[str, Any], runner: dict[str, Any]) -> InjectionJob:
    """The injection job; the catalog's store dataset runs it part by part into its folder (resumable)."""
    from dhs_inject.kernel import InjectConfig
    from dhs_inject.runners import InjectionJob, RunnerConfig

    return InjectionJob(manifest, InjectConfig(**render), str(survey.root), RunnerConfig(**runner))


def summary(store: Path) -> pd.DataFrame:
    """Per-split counts and arc-SNR / magnification / θ_E quantiles of the store."""
    from dhs_inject.report import summarize_store

    return summarize_store(store)


def previews(store: Path, params: dict[str, Any]) -> Figure:
    """A PNG grid of injected / control / residual stamps."""
    from dhs_inject.report import preview_figure

    return preview_figure(store, **params)
