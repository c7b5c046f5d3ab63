"""Thin nodes of the ``ablations`` pipeline: one rs_ilg 3D run per (variant, mode), then the study table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..ablation_studies.common import deep_update, format_table, run_id, to_markdown, variant_payload

STUDY = "rs_ilg_3d"
METRICS = ("median_ilg", "mean_ilg", "median_newton", "median_mond", "delta_median_vs_baseline",
           "rel_change_median_vs_baseline", "max_abs_delta_vs_baseline")
SEED_DOCUMENT = "000_5646f06f108a3c60.txt"
#: "Summary (medians/means)" table of the seed, its "Ablation: …" rows (3D 64³, 24 galaxies, anisotropic), as
#: written there; the original's code is what ``compat`` mode reproduces. The seed prints no 64³ baseline row and
#: no feature-permutation run.
SEED = {("d_to_i", "compat"): {"median_ilg": "4.111", "mean_ilg": "4.479"},
        ("gext0", "compat"): {"median_ilg": "4.111", "mean_ilg": "4.479"},
        ("const_sigma", "compat"): {"median_ilg": "11.363", "mean_ilg": "13.652"},
        ("no_inner_mask", "compat"): {"median_ilg": "4.497", "mean_ilg": "4.790"},
        ("k1_null", "compat"): {"median_ilg": "4.146", "mean_ilg": "4.508"}}
#: Largest per-galaxy |Δ chi2/N| against the baseline below which a variant is read as inert (float noise).
INERT_TOLERANCE = 1e-6


def grid_settings(grid3d: dict[str, Any], study: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``rs_ilg.run.grid3d`` updated by ``study.grid3d``, then by the variant's ``overrides.grid3d``."""
    return deep_update(grid3d, study.get("grid3d"), overrides.get("grid3d"))


def run_variant(master: pd.DataFrame, cohort: list[str], features_root: Path, mode: dict[str, Any],
                grid3d: dict[str, Any], study: dict[str, Any], overrides: dict[str, Any]) -> pd.DataFrame:
    """The variant's 3D run in one mode (:func:`rs_ilg.runners.run_grid` with :func:`grid_settings`)."""
    from rs_ilg import ModeConfig
    from rs_ilg.features import read_features
    from rs_ilg.master import Master
    from rs_ilg.runners import GridRunConfig, run_grid

    name, switches = mode["name"], {k: v for k, v in mode.items() if k != "name"}
    res = run_grid(Master.from_table(master), ModeConfig.from_name(name, **switches),
                   GridRunConfig(ndim=3, **grid_settings(grid3d, study, overrides)), subset=cohort, progress=False,
                   features=read_features(features_root, cohort))  # fmt: skip
    return res.summary.assign(mode=name)


def variant_metrics(compat: pd.DataFrame, corrected: pd.DataFrame, grid3d: dict[str, Any], study: dict[str, Any],
                    overrides: dict[str, Any], size: str) -> dict[str, Any]:
    """Medians of ILG and the baselines per mode; the overrides, the effective grid and the size as MLflow params."""
    from rs_ilg.report import variant_metrics as metrics

    settings = {"overrides": overrides, "grid3d": grid_settings(grid3d, study, overrides)}
    return variant_payload(metrics({"compat": compat, "corrected": corrected}), settings, size)


def _verdict(variant: str, max_delta: float) -> str:
    if variant == "baseline":
        return "reference"
    if max_delta < INERT_TOLERANCE:
        return "inert (no per-galaxy change)"
    return f"acts (max |Δχ²/N| = {max_delta:.3g})"


def study_table(**inputs: Any) -> tuple[pd.DataFrame, str, Any]:
    """The study table (common format, one row per variant and mode), its Markdown and its figure.

    ``inputs``: ``"<variant>.<mode>"`` → that run's per-galaxy table, ``"<variant>.metrics"`` → its metrics
    payload. Statistics from :func:`rs_ilg.report.ablation_table` (which needs a ``baseline`` variant).
    """
    from rs_ilg.plots import ablation_figure
    from rs_ilg.report import ablation_table

    payloads = {k.removesuffix(".metrics"): v for k, v in inputs.items() if k.endswith(".metrics")}
    frames = [df.assign(variant=k.split(".")[0]) for k, df in inputs.items() if not k.endswith(".metrics")]
    stats = ablation_table(pd.concat(frames, ignore_index=True))
    rows = []
    for r in stats.to_dict("records"):
        p = payloads[r["variant"]]["params"]
        rows.append({**r, "run_id": run_id(STUDY, r["variant"], p["size"], p),
                     "verdict": _verdict(r["variant"], r["max_abs_delta_vs_baseline"])})
    table = format_table(STUDY, rows, keys=("mode",), info=("n_galaxies",), metrics=METRICS, seed=SEED,
                         seed_document=SEED_DOCUMENT)
    notes = ("chi2/N of the 3D ILG run per variant and mode (rs_ilg.report.ablation_table); deltas against the "
             "baseline variant; max_abs_delta_vs_baseline is the largest per-galaxy change (0: the switch did "
             f"nothing; 'inert' below {INERT_TOLERANCE:g}). Seed columns: `{SEED_DOCUMENT}` (64³, 24 galaxies, the "
             "original's code, which compat mode reproduces); ours at the configured grid and cohort.")
    return table, to_markdown(table, "rs-ilg 3D kernel ablations", notes), ablation_figure(table)
