"""Thin glue between the catalog and dhs-inject (every computation is a package function)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from dhs_inject.kernel import InjectConfig
from dhs_inject.manifest import ManifestConfig, build_manifest
from dhs_inject.report import preview_figure, summarize_store
from dhs_inject.runners import InjectionJob, RunnerConfig
from dhs_inject.survey import Survey


def manifest(survey: Survey, params: dict[str, Any]) -> pd.DataFrame:
    """LRG hosts + bricks table → manifest with HEALPix splits, paired and unpaired controls."""
    return build_manifest(survey.lrgs, survey.bricks, ManifestConfig(**params))


def stamp_store(manifest: pd.DataFrame, survey: Survey, render: dict[str, Any], runner: dict[str, Any]) -> InjectionJob:
    """The injection job; the catalog's store dataset runs it part by part into its folder (resumable)."""
    return InjectionJob(manifest, InjectConfig(**render), str(survey.root), RunnerConfig(**runner))


def summary(store: Path) -> pd.DataFrame:
    """Per-split counts and arc-SNR / magnification / θ_E quantiles of the store."""
    return summarize_store(store)


def previews(store: Path, params: dict[str, Any]) -> Figure:
    """A PNG grid of injected / control / residual stamps."""
    return preview_figure(store, **params)
