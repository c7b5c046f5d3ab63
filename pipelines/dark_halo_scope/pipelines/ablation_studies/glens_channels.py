"""glens channel ablations (seed ``001`` §9): flux only, velocity only, both — per simulation regime.

A variant is a regime (``overrides.lens``, a :class:`glens_sim.config.LensSimConfig`): ``easy`` (no PSF, no noise,
strong subhalo) and ``moderate`` (PSF + noise). For each it renders the subhalo-detection sets once from the
``glens.sources`` tensors and trains one CNN per channel mode of ``study.channel_modes`` with glens-sim's own
experiment functions (:func:`glens_sim.experiments.build_experiment_data`, :func:`~glens_sim.experiments.train_on`),
at the size of ``study.experiment`` (an :class:`glens_sim.experiments.ExperimentConfig` without ``lens``).
Verdict per row: "above chance" iff a one-sided binomial test of the test accuracy against 0.5 gives p < 0.01.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.pipeline import Pipeline, node

from .common import bar_figure, format_table, run_id, study_pipeline, to_markdown, variant_payload

STUDY = "glens_channels"
COLUMNS = ("train_accuracy", "val_accuracy", "test_accuracy", "test_auc")
METRICS = (*COLUMNS, "best_epoch")
SEED_DOCUMENT = "001_49f6076e098cc504.txt"
_ONE = {"train_accuracy": "1.0", "val_accuracy": "1.0", "test_accuracy": "1.0"}
_NEAR_ONE = {"train_accuracy": "~1.0", "val_accuracy": "~1.0", "test_accuracy": "~1.0"}
#: §9.1 (easy) and §9.2 (moderate) tables of the seed, as written there (the seed reports no AUC).
SEED = {
    ("easy", "both"): _ONE,
    ("easy", "flux"): _ONE,
    ("easy", "vel"): {"train_accuracy": "0.53–0.60", "val_accuracy": "0.48–0.54", "test_accuracy": "0.52–0.59"},
    ("moderate", "flux"): _NEAR_ONE,
    ("moderate", "both"): _NEAR_ONE,
    ("moderate", "vel"): {"train_accuracy": "0.53–0.57", "val_accuracy": "0.48–0.54", "test_accuracy": "~0.58"},
}
CHANCE_P = 0.01


def run_variant(sources: dict[str, Any], study: dict[str, Any], overrides: dict[str, Any], size: str) -> dict[str, Any]:
    """Subhalo detection in the variant's regime, one CNN per channel mode; metrics ``<mode>.<column>``."""
    from glens_sim.experiments import ExperimentConfig, build_experiment_data, train_on

    cfg = ExperimentConfig(**study["experiment"], lens=overrides["lens"])
    data = build_experiment_data(sources, cfg, "subhalo_detection", progress=False)
    runs = train_on(data, study["channel_modes"], progress=False)
    metrics: dict[str, float] = {}
    for r in runs.table.itertuples(index=False):
        values = {"train_accuracy": r.train_accuracy, "val_accuracy": r.val_accuracy, "test_accuracy": r.accuracy,
                  "test_auc": r.auc, "best_epoch": r.best_epoch, "n_test": r.n_test}
        metrics.update({f"{r.channel_mode}.{k}": float(v) for k, v in values.items()})
    return variant_payload(metrics, {"experiment": cfg.to_dict(), "channel_modes": list(study["channel_modes"])}, size)


def _verdict(accuracy: float, n: int) -> str:
    from scipy.stats import binomtest

    p = binomtest(round(accuracy * n), n, 0.5, alternative="greater").pvalue
    return f"{'above chance' if p < CHANCE_P else 'at chance'} (p = {p:.2g})"


def study_table(**variants: dict[str, Any]) -> tuple[pd.DataFrame, str, Any]:
    """One row per (regime, channel mode) in the common format, its Markdown and a test-accuracy bar figure."""
    rows = []
    for name, payload in variants.items():
        m, p = payload["metrics"], payload["params"]
        for mode in p["channel_modes"]:
            rows.append({"variant": name, "channel": mode, "run_id": run_id(STUDY, name, p["size"], p),
                         **{k: m[f"{mode}.{k}"] for k in METRICS},
                         "verdict": _verdict(m[f"{mode}.test_accuracy"], int(m[f"{mode}.n_test"]))})
    table = format_table(STUDY, rows, keys=("channel",), metrics=METRICS, seed=SEED, seed_document=SEED_DOCUMENT)
    notes = ("Subhalo detection (macro lens vs macro lens + subhalo), glens-sim experiment functions; accuracies "
             "at the best validation epoch (train, val) and on the held-out test galaxies (test, AUC). Verdict: "
             f"one-sided binomial test of the test accuracy against 0.5, 'above chance' iff p < {CHANCE_P}. Seed "
             f"columns: `{SEED_DOCUMENT}` §9.1 (easy) and §9.2 (moderate), as written there (no AUC reported).")
    figure = bar_figure(table, ["train_accuracy", "val_accuracy", "test_accuracy"], label=("variant", "channel"),
                        hline=0.5, title="glens channel ablations: subhalo detection (dashed: chance)")
    return table, to_markdown(table, "glens channel ablations", notes), figure


def create_pipeline() -> Pipeline:
    template = Pipeline([node(run_variant, ["glens.sources", "params:study", "params:overrides", "params:size"],
                              "metrics", name="run")])  # fmt: skip
    params = {"params:study": f"params:ablation_studies.{STUDY}.study", "params:size": "params:ablation_studies.size"}
    return study_pipeline(STUDY, template, inputs={"glens.sources"}, parameters=params,
                          table=study_table, outputs=("table", "markdown", "figure"))
