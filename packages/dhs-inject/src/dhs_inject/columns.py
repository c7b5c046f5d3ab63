"""The one list of stamp-store columns a classifier may and may not see (the leakage audit's reference).

It lives with the store's schema (the store defines which columns derive from the injection), below both users:
dhs-train's ``MetaFusionHead`` calls :func:`classify_columns` to refuse dangerous meta inputs, and dhs-gates'
``leakage_audit`` gate calls the same function (re-exported as ``dhs_gates.leakage``), so the two can never
disagree — and dhs-train installs without dhs-gates, which depends on it.

Sources: the upstream column audit (seed ``002``, Appendix A, ``DANGEROUS_COLUMNS`` / ``SAFE_COLUMNS``; spec
``dhs.md`` §4 "Column leakage audit") extended with the names of our store (``docs/stamp_store.md``: everything
derived from the injection).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["DANGEROUS_COLUMNS", "DANGEROUS_PREFIXES", "SAFE_META_COLUMNS", "classify_columns", "dangerous_columns"]

#: Columns that carry the label or the injection (exact names): upstream's list plus our store's.
DANGEROUS_COLUMNS: frozenset[str] = frozenset(
    {
        # upstream audit (seed 002, Appendix A)
        "arc_snr", "theta_e_arcsec", "src_dmag", "src_reff_arcsec", "is_control", "cutout_ok", "magnification",
        "tangential_stretch", "radial_stretch", "expected_arc_radius", "cosmos_index", "cosmos_hlr_arcsec",
        "lensed_hlr_arcsec", "physics_valid", "lens_model", "lens_e", "source_mode",
        # our store (docs/stamp_store.md)
        "label", "pairing", "config_id", "grid", "theta_e_over_psf", "source_model", "psf_model", "psf_beta",
        "ctrl_stamp", "ctrl_stamp_npz", "replicate", "tier", "oversampling", "core_mask_radius_pix",
    }
)  # fmt: skip

#: Name prefixes of injection parameters and measured arc quantities (lenstronomy kwargs, arc metrics, PSF used).
DANGEROUS_PREFIXES: tuple[str, ...] = ("lens_", "shear_", "src_", "arc_", "psf_fwhm_")

#: Observing conditions, identical in law for lenses and controls: the only safe meta inputs.
SAFE_META_COLUMNS: frozenset[str] = frozenset(
    {f"psfsize_{b}" for b in "grzi"} | {f"psfdepth_{b}" for b in "grzi"} | {"ebv", "psf_bin", "depth_bin"}
)


def dangerous_columns(columns: Iterable[str]) -> list[str]:
    """Return the columns of ``columns`` that carry the label or the injection, in input order.

    Examples
    --------
    >>> dangerous_columns(["psfsize_r", "arc_snr", "lens_theta_E"])
    ['arc_snr', 'lens_theta_E']
    """
    return [c for c in columns if c in DANGEROUS_COLUMNS or c.startswith(DANGEROUS_PREFIXES)]


def classify_columns(columns: Iterable[str]) -> dict[str, list[str]]:
    """Split ``columns`` into ``{"dangerous": [...], "safe": [...], "unknown": [...]}`` (input order kept).

    "unknown" columns are neither on the dangerous list nor observing conditions; the audit treats them as
    unverified (a model must not read them until someone adds them to :data:`SAFE_META_COLUMNS`).
    """
    cols = list(columns)
    bad = dangerous_columns(cols)
    safe = [c for c in cols if c in SAFE_META_COLUMNS and c not in bad]
    unknown = [c for c in cols if c not in bad and c not in safe]
    return {"dangerous": bad, "safe": safe, "unknown": unknown}
