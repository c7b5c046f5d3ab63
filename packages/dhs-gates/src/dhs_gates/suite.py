"""Run every gate on a stamp store: assemble the samples once, then call each gate's one definition.

``gate_inputs`` turns store rows into samples: a paired row gives its ``stamp`` (label 1) *and* its ``ctrl_stamp``
(label 0), both in the host's group; an unpaired row gives its ``stamp`` with its own label. ``run_gates`` feeds
them to the gates with the run's :class:`~dhs_gates.config.GatesConfig`; ``core_shortcut_study`` measures the
seed's central finding (core-LR AUC of paired data under each preprocessing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .anchors import anchor_crossmatch, tier_a
from .config import GatesConfig
from .data_gates import (
    SNR_BINS,
    THETA_PSF_BINS,
    bandset,
    class_conditional_quality,
    distribution_shift,
    invvar_availability,
    leakage_audit,
    paired_integrity,
    split_integrity,
    stratified_auc,
)
from .model_gates import (
    Scorer,
    arc_suppressed,
    centre_masked_drop,
    core_masked_drop,
    hardneg_auroc,
    null_injection,
    score,
    synthetic_auroc,
)
from .images import CHUNK, model_input
from .parity import pipeline_parity
from .result import GateResult, not_run
from .shortcut_gates import (
    core_brightness_matching,
    core_lr_auc,
    core_only_baseline,
    normalisation_effect_size,
    radial_profile_auc,
)

__all__ = ["GateInputs", "core_shortcut_study", "gate_inputs", "run_gates"]

HardNegative = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


def _present(cell: Any) -> bool:
    return cell is not None and not (np.isscalar(cell) and pd.isna(cell))


@dataclass(frozen=True)
class GateInputs:
    """Samples built from store rows.

    Attributes
    ----------
    stamps : ndarray, shape (N, C, H, W), float32 nMgy
    labels : ndarray of int, shape (N,)
    groups : ndarray of str, shape (N,) — host ``lrg_id``
    meta : DataFrame, N rows — the row's columns (``label`` set to the sample's label)
    pair_stamps, pair_ctrls : ndarray, shape (P, C, H, W) — the paired positives and their controls
    """

    stamps: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    meta: pd.DataFrame
    pair_stamps: np.ndarray
    pair_ctrls: np.ndarray

    @property
    def positives(self) -> np.ndarray:
        return self.stamps[self.labels == 1]

    @property
    def negatives(self) -> np.ndarray:
        return self.stamps[self.labels == 0]


def _as_model_input(stamps: np.ndarray, method: str, options: dict[str, Any]) -> np.ndarray:
    """dhs-train's ``preprocess`` of ``stamps``, chunk by chunk (computed once, shared by several gates)."""
    get = model_input(stamps, method, options)
    chunks = [get(slice(s, s + CHUNK)) for s in range(0, len(stamps), CHUNK)]
    return np.concatenate(chunks) if chunks else np.asarray(stamps, np.float32)


def _noted(result: GateResult, settings: dict[str, Any]) -> GateResult:
    """Record in ``details`` the preprocessing a gate's (already preprocessed) input went through."""
    return result.model_copy(update={"details": {**result.details, **settings}})


def gate_inputs(store: pd.DataFrame, split: str | None = None, *, pairing: str | None = None,
                max_rows: int | None = None, seed: int = 42) -> GateInputs:
    """Samples of ``split`` (all if None) and ``pairing`` ("paired"/"unpaired"/None = both) from store rows.

    ``max_rows`` store rows at most, drawn at random (``seed``). Raises ``ValueError`` naming a missing column.
    """
    missing = [c for c in ("stamp", "label", "lrg_id") if c not in store]
    if missing:
        raise ValueError(f"store lacks column(s) {missing} needed to build gate samples")
    rows = store
    if split is not None and "split" in rows:
        rows = rows[rows["split"] == split]
    if pairing is not None and "pairing" in rows:
        rows = rows[rows["pairing"] == pairing]
    if max_rows is not None and len(rows) > max_rows:
        rows = rows.sample(n=max_rows, random_state=seed)
    has_ctrl = rows["ctrl_stamp"].map(_present) if "ctrl_stamp" in rows else pd.Series(False, index=rows.index)
    paired = rows[has_ctrl & (rows["label"] == 1)]
    meta_cols = [c for c in rows.columns if c not in ("stamp", "ctrl_stamp", "invvar")]
    ctrl_meta = paired[meta_cols].assign(label=0)
    meta = pd.concat([rows[meta_cols], ctrl_meta], ignore_index=True)
    cells = list(rows["stamp"]) + (list(paired["ctrl_stamp"]) if "ctrl_stamp" in paired else [])
    shape = np.asarray(cells[0]).shape if cells else (3, 64, 64)
    stamps = np.stack([np.asarray(c, np.float32) for c in cells]) if cells else np.empty((0, *shape), np.float32)
    pair_stamps = stamps[: len(rows)][has_ctrl.to_numpy() & (rows["label"] == 1).to_numpy()]
    return GateInputs(
        stamps=stamps,
        labels=meta["label"].to_numpy(np.int64),
        groups=meta["lrg_id"].astype(str).to_numpy(),
        meta=meta,
        pair_stamps=pair_stamps,
        pair_ctrls=stamps[len(rows):],
    )


def core_shortcut_study(store: pd.DataFrame, *,
                        methods: Sequence[str | Mapping[str, Any]] = ("raw_robust", "residual_radial_profile"),
                        split: str | None = None, max_rows: int | None = None, n_splits: int = 5,
                        seed: int = 42) -> pd.DataFrame:
    """The seed's central finding, measured: core-LR and radial-profile AUC of *paired* stamps per preprocessing.

    Seed ``003`` ("Residual preprocessing breaks shortcuts"): paired + ``raw_robust`` core AUC 0.95, paired +
    ``residual_radial_profile`` 0.55. Each entry of ``methods`` is a dhs-train method name or a mapping
    ``{"method": name, **options}`` (e.g. ``{"method": "raw_robust", "clip": None}``, the unclipped upstream
    variant). Returns one row per entry: ``variant, core_lr_auc, radial_profile_auc, n_pos, n_neg, n_groups,
    status, reason``.
    """
    data = gate_inputs(store, split, pairing="paired", max_rows=max_rows, seed=seed)
    out = []
    for entry in methods:
        spec = {"method": entry} if isinstance(entry, str) else dict(entry)
        method = spec.pop("method")
        label = method + "".join(f" {k}={v}" for k, v in spec.items())
        x = _as_model_input(data.stamps, method, spec)  # once for both gates
        common = {"groups": data.groups, "n_splits": n_splits, "seed": seed}
        core = core_lr_auc(x, data.labels, **common)
        radial = radial_profile_auc(x, data.labels, **common)
        out.append({"variant": label, "core_lr_auc": core.value, "radial_profile_auc": radial.value,
                    **core.sample_sizes, "status": f"{core.status}/{radial.status}",
                    "reason": core.reason or radial.reason})
    return pd.DataFrame(out)


def run_gates(store: pd.DataFrame, config: GatesConfig | None = None, *, scorer: Scorer | None = None,
              hard_negative: HardNegative | None = None, anchors: pd.DataFrame | None = None,
              lenscat: Any = None, anchor_columns: tuple[str, str] = ("ra_deg", "dec_deg"),
              parity: tuple[np.ndarray, np.ndarray] | None = None, no_model_reason: str = "") -> list[GateResult]:
    """Every gate on one store; returns the results in report order.

    Parameters
    ----------
    store : DataFrame
        ``dhs_inject.read_store`` output (all splits).
    config : GatesConfig
        Preprocessing of the run, CV protocol, sample sizes, thresholds, the model's meta columns.
    scorer : callable or None
        ``(N, C, H, W) float32 nMgy -> (N,)`` probabilities (dhs-train scoring of the run's checkpoint); ``None``
        makes every model gate "not run" (``no_model_reason`` says why).
    hard_negative : callable or None
        ``(stamp, ctrl, rng) -> hard negatives`` (dhs-train's ``hard_negative``) for ``hardneg_auroc``.
    anchors, lenscat : DataFrame and path/DataFrame, optional
        Anchor list (``name`` + ``anchor_columns``) and the lenscat catalogue for the anchor gates.
    parity : pair of (N, C, H, W) arrays, optional
        The same positions from two cutout sources.
    """
    cfg = config or GatesConfig()
    th = cfg.thresholds
    pp = {"preprocess": cfg.preprocess, "preprocess_options": cfg.preprocess_options}
    cv = {"n_splits": cfg.n_splits, "seed": cfg.seed}
    results = [
        leakage_audit(cfg.meta_columns, list(store.columns)),
        split_integrity(store),
        paired_integrity(store, seed=cfg.seed),
        bandset(store),
        invvar_availability(store),
        class_conditional_quality(store, threshold=th.class_quality_p_min),
        distribution_shift(store, max_rows=cfg.max_ks_rows, seed=cfg.seed, threshold=th.distribution_shift_p_min),
    ]
    train = gate_inputs(store, "train", seed=cfg.seed)
    x_in = _as_model_input(train.stamps, cfg.preprocess, cfg.preprocess_options)  # once for the three LR gates
    noted = {"preprocess": cfg.preprocess, "preprocess_options": cfg.preprocess_options}
    results += [
        _noted(gate(x_in, train.labels, groups=train.groups, **cv, threshold=t), noted)
        for gate, t in ((core_lr_auc, th.core_lr_auc_max), (radial_profile_auc, th.radial_profile_auc_max),
                        (core_only_baseline, th.core_only_baseline_max))
    ]
    results += [
        normalisation_effect_size(train.stamps, train.labels, **pp, threshold=th.normalisation_d_max),
        core_brightness_matching(train.stamps, train.labels, ratio_range=th.brightness_ratio_range,
                                 d_max=th.brightness_d_max),
    ]
    test = gate_inputs(store, "test", max_rows=cfg.max_model_rows, seed=cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    scores = None
    reason = no_model_reason or "no model (no checkpoint/scorer)"
    if scorer is not None and len(test.stamps):
        scores = score(scorer, test.stamps)
    hard = None
    if hard_negative is not None and len(test.pair_stamps):
        hard = hard_negative(test.pair_stamps, test.pair_ctrls, rng)
    model_results = [
        synthetic_auroc(scores, test.labels, threshold=th.synthetic_auroc_min),
        *(stratified_auc(scores, test.labels, test.meta[col] if col in test.meta else np.full(len(test.labels), np.nan),
                         bins, by=col, min_per_bin=cfg.min_per_bin, threshold=th.stratified_auc_min)
          for col, bins in (("theta_e_over_psf", THETA_PSF_BINS), ("arc_snr", SNR_BINS))),
        null_injection(None if scores is None else scores[test.labels == 0], max_rows=cfg.max_model_rows,
                       seed=cfg.seed, mean_max=th.null_mean_max, frac_max=th.null_frac_above_half_max),
        arc_suppressed(scorer, test.positives, max_rows=cfg.max_model_rows, seed=cfg.seed,
                       threshold=th.arc_suppressed_mean_max),
        centre_masked_drop(scorer, test.positives, radii=cfg.centre_mask_radii_pix, max_rows=cfg.max_model_rows,
                           seed=cfg.seed, threshold=th.centre_masked_drop_max, moderate=th.centre_masked_moderate),
        core_masked_drop(scorer, test.stamps, test.labels, max_rows=cfg.max_model_rows, seed=cfg.seed,
                         threshold=th.core_masked_drop_max),
        hardneg_auroc(scorer, test.pair_stamps, hard, max_rows=cfg.max_model_rows, seed=cfg.seed,
                      threshold=th.hardneg_auroc_min),
    ]
    if scorer is None:  # say why, in the run's words
        model_results = [r.model_copy(update={"reason": reason}) if r.status == "not run" else r
                         for r in model_results]
    results += model_results
    results.append(pipeline_parity(*(parity or (None, None)), ratio_range=th.parity_ratio_range))
    if anchors is not None and lenscat is not None:
        match = anchor_crossmatch(anchors, lenscat, ra=anchor_columns[0], dec=anchor_columns[1],
                                  max_sep_arcsec=th.anchor_max_sep_arcsec)
        results += [match, tier_a(match, min_snr=th.tier_a_arc_snr_min)]
    else:
        why = "no anchor list or lenscat catalogue configured"
        results += [not_run("anchor_crossmatch", why, threshold=0, direction="=="),
                    not_run("tier_a", why, threshold=1, direction=">=")]
    return results
