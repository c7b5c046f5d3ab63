"""dhs-gates: gates that catch shortcuts, leakage and broken splits before anyone believes a number.

One function per gate, each returning a :class:`GateResult` (``passed`` / ``failed`` / ``not run`` with the
reason). Gates that need a model take a scoring callable; the package never imports torch.
"""

from importlib.metadata import version

from .anchors import anchor_crossmatch, arc_visibility_snr, read_lenscat, tier_a
from .config import THRESHOLDS, GatesConfig, Thresholds
from .data_gates import (
    bandset,
    class_conditional_quality,
    distribution_shift,
    invvar_availability,
    leakage_audit,
    paired_integrity,
    split_integrity,
    stratified_auc,
)
from .leakage import DANGEROUS_COLUMNS, SAFE_META_COLUMNS, classify_columns, dangerous_columns
from .model_gates import (
    arc_suppressed,
    centre_masked_drop,
    core_masked_drop,
    hardneg_auroc,
    null_injection,
    synthetic_auroc,
)
from .parity import pipeline_parity
from .report import gate_report, report_html
from .result import GateResult
from .shortcut_gates import (
    core_brightness_matching,
    core_lr_auc,
    core_only_baseline,
    normalisation_effect_size,
    radial_profile_auc,
)
from .suite import core_shortcut_study, gate_inputs, run_gates

__version__ = version("dhs-gates")

__all__ = [
    "DANGEROUS_COLUMNS", "SAFE_META_COLUMNS", "THRESHOLDS", "GateResult", "GatesConfig", "Thresholds",
    "__version__", "anchor_crossmatch", "arc_suppressed", "arc_visibility_snr", "bandset", "centre_masked_drop",
    "class_conditional_quality", "classify_columns", "core_brightness_matching", "core_lr_auc", "core_masked_drop",
    "core_only_baseline", "core_shortcut_study", "dangerous_columns", "distribution_shift", "gate_inputs",
    "gate_report", "hardneg_auroc", "invvar_availability", "leakage_audit", "normalisation_effect_size",
    "null_injection", "paired_integrity", "pipeline_parity", "radial_profile_auc", "read_lenscat", "report_html",
    "run_gates", "split_integrity", "stratified_auc", "synthetic_auroc", "tier_a",
]  # fmt: skip
