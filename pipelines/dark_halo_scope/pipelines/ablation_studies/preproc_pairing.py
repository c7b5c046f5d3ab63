"""Preprocessing × pairing (seed ``003``, "Residual preprocessing breaks shortcuts"): the shortcut gates, no CNN.

Each variant builds labelled samples from the training split of ``dhs_inject.stamp_store``: *paired* = each
injected stamp (1) and its own host's control cutout (0); *unpaired* = the injected stamps (1) against the
LRG-disjoint unpaired control rows (0). It preprocesses them with dhs-train's ``preprocess`` (``raw_robust`` or
``residual_radial_profile``), optionally blanks the core of a random fraction with dhs-train's ``core_dropout``
(the seed's "core_dropout(r = 7)" applied to the training samples), and measures the gates' grouped out-of-fold
logistic-regression AUCs (:func:`dhs_gates.core_lr_auc`, :func:`dhs_gates.radial_profile_auc`) once per seed of
``study.seeds`` (each seed draws the rows, the folds and the dropout). Verdict: PASS iff both means < 0.65.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from kedro.pipeline import Pipeline, node

from .common import bar_figure, format_table, run_id, study_pipeline, to_markdown, variant_payload

STUDY = "preproc_pairing"
METRICS = ("core_auc_mean", "core_auc_std", "radial_auc_mean", "radial_auc_std")
SEED_DOCUMENT = "003_33b84c109e4e56eb.txt"
#: "BREAKTHROUGH: Residual Preprocessing Breaks Shortcuts" table of the seed, as written there.
SEED = {
    ("paired_raw",): {"core_auc_mean": "0.9513 ± 0.02", "radial_auc_mean": "0.9794 ± 0.01", "verdict": "FAIL"},
    ("unpaired_raw",): {"core_auc_mean": "0.9488 ± 0.02", "radial_auc_mean": "0.9782 ± 0.01", "verdict": "FAIL"},
    ("paired_residual",): {"core_auc_mean": "0.5537 ± 0.02", "radial_auc_mean": "0.4998 ± 0.01", "verdict": "PASS"},
    ("unpaired_residual",): {"core_auc_mean": "0.6824 ± 0.02", "radial_auc_mean": "0.4986 ± 0.01",
                             "verdict": "FAIL (borderline)"},
    ("unpaired_residual_coredrop7",): {"core_auc_mean": "0.5113 ± 0.02", "radial_auc_mean": "~0.50",
                                       "verdict": "PASS"},
}


def samples(store: pd.DataFrame, split: str, pairing: str, max_rows: int | None, seed: int):
    """Labelled samples of one split: paired (stamp vs own control) or unpaired (stamp vs unpaired controls).

    Returns :class:`dhs_gates.suite.GateInputs` (stamps ``(N, C, H, W)`` nMgy, labels, host-LRG groups).
    Raises ``ValueError`` when the store has no unpaired control rows for an unpaired variant.
    """
    from dhs_gates import gate_inputs

    if pairing == "paired":
        return gate_inputs(store, split, pairing="paired", max_rows=max_rows, seed=seed)
    rows = store[store["split"] == split]
    positives = rows[rows["label"] == 1]
    controls = rows[(rows["label"] == 0) & (rows["pairing"] == "unpaired")]
    if controls.empty:
        raise ValueError(f"the store's '{split}' split has no unpaired control rows (pairing == 'unpaired', label 0): "
                         "build it with dhs_inject.manifest controls 'both' or 'unpaired'")
    # every row stands for itself (its stamp, its label): no control cells (gate_inputs needs the column present)
    unpaired = pd.concat([positives, controls], ignore_index=True).assign(ctrl_stamp=None)
    return gate_inputs(unpaired, split, max_rows=max_rows, seed=seed)


def run_variant(store: Any, study: dict[str, Any], overrides: dict[str, Any], size: str) -> dict[str, Any]:
    """Core and radial LR AUC of the variant's samples, one measurement per seed, as mean and std."""
    from dhs_gates import core_lr_auc, radial_profile_auc
    from dhs_inject import read_store
    from dhs_train import preprocess
    from dhs_train.augment import core_dropout
    from dhs_train.data import store_fingerprint

    frame = read_store(store, study["split"], columns=["task_id", "lrg_id", "label", "pairing", "stamp", "ctrl_stamp"])
    method, options = overrides["preprocess"], overrides.get("preprocess_options", {})
    drop = overrides.get("core_dropout")
    core, radial = [], []
    for seed in study["seeds"]:
        data = samples(frame, study["split"], overrides["pairing"], study["max_rows"], seed)
        x = preprocess(data.stamps, method, **options)
        if drop:
            x = core_dropout(x, np.random.default_rng(seed), prob=drop["prob"], radius=drop["radius"])
        common = {"groups": data.groups, "preprocess": None, "n_splits": study["n_splits"], "seed": seed}
        core.append(core_lr_auc(x, data.labels, **common).value)
        radial.append(radial_profile_auc(x, data.labels, **common).value)
    core_a, radial_a = np.asarray(core, float), np.asarray(radial, float)
    metrics = {"core_auc_mean": core_a.mean(), "core_auc_std": core_a.std(ddof=1) if len(core_a) > 1 else 0.0,
               "radial_auc_mean": radial_a.mean(),
               "radial_auc_std": radial_a.std(ddof=1) if len(radial_a) > 1 else 0.0,
               "n_samples": float(len(data.labels)), "n_seeds": float(len(core_a))}
    return variant_payload(metrics, {"study": study, "overrides": overrides, "store": store_fingerprint(store)}, size)


def study_table(**variants: dict[str, Any]) -> tuple[pd.DataFrame, str, Any]:
    """The study table (common format) with PASS/FAIL against the 0.65 gates, its Markdown and a bar figure."""
    from dhs_gates import THRESHOLDS

    rows = []
    for name, payload in variants.items():
        m, p = payload["metrics"], payload["params"]
        ok = (m["core_auc_mean"] < THRESHOLDS.core_lr_auc_max
              and m["radial_auc_mean"] < THRESHOLDS.radial_profile_auc_max)
        rows.append({"variant": name, "run_id": run_id(STUDY, name, p["size"], p), "n_samples": int(m["n_samples"]),
                     "n_seeds": int(m["n_seeds"]), **{k: m[k] for k in METRICS}, "verdict": "PASS" if ok else "FAIL"})
    table = format_table(STUDY, rows, info=("n_samples", "n_seeds"), metrics=METRICS, seed=SEED,
                         seed_document=SEED_DOCUMENT)
    notes = ("Core AUC: grouped out-of-fold LR on the central 10×10 box of the model input; radial AUC: the same on "
             "the azimuthal-median profile (dhs_gates). Mean ± std over the seeds; PASS iff both means < 0.65. Seed "
             f"columns: `{SEED_DOCUMENT}`, mean ± std as written there (its 'core AUC' column holds both).")
    figure = bar_figure(table, ["core_auc_mean", "radial_auc_mean"], hline=0.65,
                        title="Preprocessing × pairing: shortcut LR AUCs (dashed: 0.65 gate)")
    return table, to_markdown(table, "Preprocessing × pairing", notes), figure


def create_pipeline() -> Pipeline:
    template = Pipeline([node(run_variant, ["dhs_inject.stamp_store", "params:study", "params:overrides",
                                            "params:size"], "metrics", name="run")])  # fmt: skip
    params = {"params:study": f"params:ablation_studies.{STUDY}.study", "params:size": "params:ablation_studies.size"}
    return study_pipeline(STUDY, template, inputs={"dhs_inject.stamp_store"}, parameters=params,
                          table=study_table, outputs=("table", "markdown", "figure"))
