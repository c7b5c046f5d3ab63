"""Centre-masked diagnostic (seed ``004`` phase 2): the score drop of the project's model when the centre is masked.

The model is the ``dhs_train`` pipeline's checkpoint (catalog ``dhs_train.checkpoint``). Each variant is one mask
radius (``overrides.radius_pix``): :func:`dhs_gates.centre_masked_drop` on the positives of ``study.split`` of
``dhs_inject.stamp_store`` — pixels ``r < R`` resampled from ``r ≥ 2R``, drop = relative fall of the mean score.
Verdict: the gate's reading (low / moderate > 0.15 / high > 0.30 reliance on the centre).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.pipeline import Pipeline, node

from .common import bar_figure, format_table, run_id, study_pipeline, to_markdown, variant_payload

STUDY = "centre_masked"
METRICS = ("drop_percent", "mean_score_original", "mean_score_masked")
SEED_DOCUMENT = "004_92827a87f73015fa.txt"
#: "Phase 2: Center-Masked Diagnostic" results JSON of the seed (``drop_percent`` per ``r_mask_pixels``).
SEED = {("r8",): {"drop_percent": "5.5"}, ("r10",): {"drop_percent": "11.2"},
        ("r12",): {"drop_percent": "22.4", "verdict": "moderate reliance on center (overall max 22.4 %)"}}


def run_variant(store: Any, checkpoint: dict[str, Any], study: dict[str, Any], overrides: dict[str, Any],
                size: str) -> dict[str, Any]:
    """Drop of the mean score of the split's positives at the variant's mask radius."""
    from dhs_gates import centre_masked_drop, gate_inputs
    from dhs_inject import read_store
    from dhs_train.scoring import load_classifier
    from dhs_train.training import make_score_fn

    meta = checkpoint["meta"]
    if meta["meta_columns"]:
        raise ValueError(f"dhs_train.checkpoint reads meta columns {meta['meta_columns']}; the centre-masked "
                         "diagnostic scores stamps only: train an image-only model (dhs_train.data.meta_columns: [])")
    scorer = make_score_fn(load_classifier(checkpoint), meta)
    data = gate_inputs(read_store(store, study["split"]), study["split"], seed=study["seed"])
    gate = centre_masked_drop(scorer, data.positives, radii=(float(overrides["radius_pix"]),),
                              max_rows=study["max_rows"], seed=study["seed"])
    if gate.value is None:
        raise ValueError(f"centre_masked_drop did not run: {gate.reason}")
    point = gate.details["by_radius"][0]
    metrics = {"drop_percent": 100.0 * gate.value, "mean_score_original": gate.details["mean_score_original"],
               "mean_score_masked": point["mean_score"], "n_pos": float(gate.sample_sizes["n_pos"])}
    settings = {"study": study, "overrides": overrides, "reliance": gate.details["reliance"],
                "model": {k: meta[k] for k in ("architecture", "preprocess", "store_fingerprint") if k in meta}}
    return variant_payload(metrics, settings, size)


def study_table(**variants: dict[str, Any]) -> tuple[pd.DataFrame, str, Any]:
    """One row per radius in the common format, its Markdown and the drop-versus-radius figure."""
    rows = []
    for name, payload in variants.items():
        m, p = payload["metrics"], payload["params"]
        rows.append({"variant": name, "radius_pix": p["overrides"]["radius_pix"], "n_pos": int(m["n_pos"]),
                     "run_id": run_id(STUDY, name, p["size"], p), **{k: m[k] for k in METRICS},
                     "verdict": f"{p['reliance']} reliance on the centre"})
    table = format_table(STUDY, rows, info=("radius_pix", "n_pos"), metrics=METRICS, seed=SEED,
                         seed_document=SEED_DOCUMENT)
    notes = ("Drop = (mean score − mean score with r < R resampled from r ≥ 2R) / mean score, on the positives of "
             "the split, dhs_train's checkpoint (dhs_gates.centre_masked_drop); > 15 % moderate, > 30 % high reliance. "
             f"Seed column: `{SEED_DOCUMENT}` phase 2 (its own model, seed-scale).")
    figure = bar_figure(table, ["drop_percent"], label=("variant",), hline=15.0,
                        title="Centre-masked diagnostic: score drop % (dashed: 'moderate' mark)")
    return table, to_markdown(table, "Centre-masked diagnostic", notes), figure


def create_pipeline() -> Pipeline:
    template = Pipeline([node(run_variant, ["dhs_inject.stamp_store", "dhs_train.checkpoint", "params:study",
                                            "params:overrides", "params:size"], "metrics", name="run")])  # fmt: skip
    params = {"params:study": f"params:ablation_studies.{STUDY}.study", "params:size": "params:ablation_studies.size"}
    return study_pipeline(STUDY, template, inputs={"dhs_inject.stamp_store", "dhs_train.checkpoint"},
                          parameters=params, table=study_table, outputs=("table", "markdown", "figure"))
