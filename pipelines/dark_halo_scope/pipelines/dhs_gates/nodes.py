"""Thin glue between the catalog and dhs-gates (every gate is a package function).

The model gates get dhs-train's scoring of the run's checkpoint as a callable, and its hard-negative function;
the run's preprocessing and meta columns are read from the checkpoint, so the image gates judge the model's input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# the packages are imported when a node runs; pandas is imported here because Kedro resolves the type hints
# of every node when it validates parameters
import pandas as pd


def _scorer(checkpoint: dict[str, Any]) -> tuple[Any, str]:
    """(scorer, reason): dhs-train's score function of an image-only checkpoint, else None and why."""
    from dhs_train.scoring import load_classifier
    from dhs_train.training import make_score_fn

    meta = checkpoint["meta"]
    if meta["meta_columns"]:
        return None, f"the model reads meta columns {meta['meta_columns']}; the image gates' scorer takes stamps only"
    return make_score_fn(load_classifier(checkpoint), meta), ""


def gates(store: Path, checkpoint: dict[str, Any], anchors: pd.DataFrame, lenscat: pd.DataFrame,
          params: dict[str, Any]) -> dict[str, Any]:
    """Store + checkpoint (+ anchors, lenscat) → every gate's result and the core-shortcut study, as one report."""
    from dhs_gates import GatesConfig, core_shortcut_study, gate_report, run_gates
    from dhs_inject import read_store
    from dhs_train.augment import hard_negative

    meta = checkpoint["meta"]
    run_settings = {"preprocess": meta["preprocess"], "preprocess_options": dict(meta["preprocess_options"]),
                    "meta_columns": list(meta["meta_columns"])}
    cfg = GatesConfig(**{**params["config"], **run_settings})
    scorer, reason = _scorer(checkpoint)
    frame = read_store(store)
    results = run_gates(
        frame, cfg, scorer=scorer, hard_negative=hard_negative, anchors=anchors, lenscat=lenscat,
        anchor_columns=(params["anchors"]["ra_column"], params["anchors"]["dec_column"]), no_model_reason=reason,
    )  # fmt: skip
    study = core_shortcut_study(frame, methods=params["study"]["methods"], n_splits=cfg.n_splits, seed=cfg.seed)
    run = {"store": str(store), "rows": len(frame), "architecture": meta.get("architecture"), **run_settings}
    return gate_report(results, run=run, studies={"core_shortcut_paired": study.to_dict("records")})


def page(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    from dhs_gates import report_html

    return report_html(report)


def metrics(report: dict[str, Any]) -> dict[str, Any]:
    """Each measured gate value as an MLflow metric ``dhs_gates.<gate>``; verdict counts as params."""
    values = {g["name"].replace("[", ".").replace("]", ""): g["value"] for g in report["gates"] if g["value"] is not None}
    return {"metrics": values, "params": {f"gates_{k.replace(' ', '_')}": n for k, n in report["summary"].items()}}
