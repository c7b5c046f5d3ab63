"""Thin glue between the catalog and dhs-inject (every computation is a package function)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

# The package (torch, scipy, astropy) and matplotlib are imported when a node runs, not when pipelines register.
# Kedro resolves every node's type hints when it validates parameters, so each hint names a type importable
# here; the survey, the injection job and the figure are ``Any``, their types named in the docstrings.


def manifest(survey: Any, params: dict[str, Any]) -> pd.DataFrame:
    """LRG hosts + bricks table (a :class:`dhs_inject.survey.Survey`) → manifest with HEALPix splits, paired and
    unpaired controls."""
    from dhs_inject.manifest import ManifestConfig, build_manifest

    return build_manifest(survey.lrgs, survey.bricks, ManifestConfig(**params))


def stamp_store(manifest: pd.DataFrame, survey: Any, render: dict[str, Any], runner: dict[str, Any]) -> Any:
    """The injection job (:class:`dhs_inject.runners.InjectionJob`) over the survey's bricks; the catalog's store
    dataset runs it part by part into its folder (resumable)."""
    from dhs_inject.kernel import InjectConfig
    from dhs_inject.runners import InjectionJob, RunnerConfig

    return InjectionJob(manifest, InjectConfig(**render), str(survey.root), RunnerConfig(**runner))


def summary(store: Path) -> pd.DataFrame:
    """Per-split counts and arc-SNR / magnification / θ_E quantiles of the store."""
    from dhs_inject.report import summarize_store

    return summarize_store(store)


def previews(store: Path, params: dict[str, Any]) -> Any:
    """A PNG grid of injected / control / residual stamps (a matplotlib ``Figure``)."""
    from dhs_inject.report import preview_figure

    return preview_figure(store, **params)
