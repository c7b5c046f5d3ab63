"""Gate thresholds and run settings, validated (pydantic, unknown names refused).

Every threshold is one field of :class:`Thresholds`, its default the value of spec ``dhs.md`` §4 (bold) or of the
seed named beside it; ``conf/base/parameters_dhs_gates.yml`` may override any of them for a run.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["GatesConfig", "Thresholds", "THRESHOLDS"]


class Thresholds(BaseModel):
    """Pass thresholds of every gate (defaults: spec ``dhs.md`` §4; seeds ``003`` appendix, ``004`` phase 1–3)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    core_lr_auc_max: float = Field(0.65, gt=0, le=1, description="core_lr_auc < this (§4 Core LR AUC)")
    radial_profile_auc_max: float = Field(0.65, gt=0, le=1, description="radial_profile_auc < this (§4)")
    core_only_baseline_max: float = Field(0.60, gt=0, le=1, description="gate 1.6: AUC < this (script value)")
    core_masked_drop_max: float = Field(0.10, ge=0, description="relative AUROC drop < this (§4)")
    hardneg_auroc_min: float = Field(0.70, ge=0, le=1, description="AUROC vs shuffled negatives > this (§4)")
    synthetic_auroc_min: float = Field(0.85, ge=0, le=1, description="test AUROC > this (§4)")
    null_mean_max: float = Field(0.2, ge=0, le=1, description="gate 1.3: mean control score < this")
    null_frac_above_half_max: float = Field(0.1, ge=0, le=1, description="gate 1.3: frac(p > 0.5) < this")
    class_quality_p_min: float = Field(0.01, ge=0, le=1, description="gate 1.1: every KS p > this")
    distribution_shift_p_min: float = Field(0.01, ge=0, le=1, description="KS val vs test: every p > this (ours)")
    normalisation_d_max: float = Field(0.1, ge=0, description="gate 1.5: every |Cohen's d| < this")
    arc_suppressed_mean_max: float = Field(0.5, ge=0, le=1, description="gate 1.7: mean score < this (script)")
    brightness_ratio_range: tuple[float, float] = Field((0.95, 1.05), description="gate 1.8: ratio in range")
    brightness_d_max: float = Field(0.1, ge=0, description="gate 1.8: |Cohen's d| < this")
    centre_masked_drop_max: float = Field(0.30, ge=0, description="drop ≤ this; > 0.30 'high', > 0.15 'moderate'")
    centre_masked_moderate: float = Field(0.15, ge=0, description="the 'moderate reliance' mark (seed 004)")
    stratified_auc_min: float = Field(0.5, ge=0, le=1, description="every bin's AUC > this (ours: no bin at chance)")
    parity_ratio_range: tuple[float, float] = Field((0.9, 1.1), description="pipeline parity mean ratio in range")
    anchor_max_sep_arcsec: float = Field(3.0, gt=0, description="anchor flagged if farther from lenscat than this")
    tier_a_arc_snr_min: float = Field(2.0, description="Tier-A by arc visibility: residual annulus SNR > this")


THRESHOLDS = Thresholds()


class GatesConfig(BaseModel):
    """How a gate run looks at the data: the model's preprocessing, CV protocol, sample sizes and thresholds.

    Attributes
    ----------
    preprocess : {"raw_robust", "residual_radial_profile"}
        dhs-train's ``preprocess`` method of the run (the model input the image gates judge).
    preprocess_options : dict
        Its options (validated by dhs-train).
    n_splits : int
        Folds of the grouped out-of-fold CV (``StratifiedGroupKFold``).
    seed : int
        Seed of every random choice (folds, samples, masks).
    max_model_rows : int
        Largest number of stamps a model-based gate scores (null injection 1,000; centre mask 500 in the seeds).
    max_ks_rows : int
        Random rows per sample for KS tests (10,000 in the seed, which took the first rows).
    min_per_bin : int
        Fewest positives (and negatives) a stratified-AUC bin needs.
    meta_columns : list of str
        Meta columns the model reads (the leakage audit's input).
    thresholds : Thresholds
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    preprocess: Literal["raw_robust", "residual_radial_profile"] = "residual_radial_profile"
    preprocess_options: dict[str, Any] = Field(default_factory=dict)
    n_splits: int = Field(5, ge=2)
    seed: int = 42
    max_model_rows: int = Field(1000, ge=10)
    max_ks_rows: int = Field(10_000, ge=10)
    min_per_bin: int = Field(10, ge=1)
    meta_columns: list[str] = Field(default_factory=list)
    centre_mask_radii_pix: list[float] = Field(default_factory=lambda: [8.0, 10.0, 12.0])
    thresholds: Thresholds = Field(default_factory=Thresholds)
