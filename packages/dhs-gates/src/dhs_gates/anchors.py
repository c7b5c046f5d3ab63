"""Anchor lenses: cross-match with lenscat and Tier-A selection by a named rule.

lenscat (Vujeva et al., MIT; ``catalog.csv`` with columns ``name, RA [deg], DEC [deg], zlens, type, grading, ref``,
multi-reference rows joining values with " | ") is read from a path; ``../shared/data/lenscat/catalog.csv`` is the
offline copy of version 1.1.3. The project's SLACS coordinates are 22″–619″ off (spec ``dhs.md`` §0.2): the
cross-match flags them, so no anchor stamp is cut on empty sky again.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from .config import THRESHOLDS
from .result import GateResult, measured, not_run

__all__ = ["TIER_A_RULES", "anchor_crossmatch", "arc_visibility_snr", "read_lenscat", "tier_a"]

_LENSCAT_COLUMNS = {"name": "name", "RA [deg]": "ra_deg", "DEC [deg]": "dec_deg", "grading": "grading"}
_JNAME = re.compile(r"J\d{4}[+-]\d{4}")


def read_lenscat(path: str | Path) -> pd.DataFrame:
    """Read lenscat's ``catalog.csv``: columns ``name, ra_deg, dec_deg, zlens, type, grading, ref, jnames``.

    ``jnames`` holds the ``Jhhmm±ddmm`` names found among a row's " | "-joined aliases (for name matching).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        A required column is missing, or a coordinate is not a number (the row is named).
    """
    path = Path(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in _LENSCAT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: lenscat catalogue lacks column(s) {missing}; has {list(frame.columns)}")
    frame = frame.rename(columns=_LENSCAT_COLUMNS)
    for col in ("ra_deg", "dec_deg"):
        values = pd.to_numeric(frame[col], errors="coerce")
        if values.isna().any():
            row = int(np.flatnonzero(values.isna())[0])
            raise ValueError(f"{path}: row {row + 2}, column {col!r}: {frame[col].iloc[row]!r} is not a number")
        frame[col] = values
    frame["jnames"] = frame["name"].map(lambda s: sorted(set(_JNAME.findall(s))))
    return frame


def anchor_crossmatch(anchors: pd.DataFrame, catalogue: str | Path | pd.DataFrame, *, ra: str = "ra_deg",
                      dec: str = "dec_deg", name: str = "name",
                      max_sep_arcsec: float = THRESHOLDS.anchor_max_sep_arcsec) -> GateResult:
    """Cross-match anchors with lenscat; flag every anchor farther than ``max_sep_arcsec`` from its lens.

    Definition: nearest lenscat entry on the sky (``astropy`` ``SkyCoord.match_to_catalog_sky``). When the anchor's
    name carries a ``Jhhmm±ddmm`` designation found in lenscat, the lens is that entry (the nearest of the
    same-named ones) and its separation is reported even if another lens is nearer. An anchor is *flagged* when
    that separation exceeds ``max_sep_arcsec`` (a 64×64 stamp spans ±8.4″). Value = number flagged; pass iff 0.

    Parameters
    ----------
    anchors : DataFrame
        One row per anchor with columns ``name``, ``ra`` and ``dec`` (degrees, ICRS).
    catalogue : path or DataFrame
        lenscat ``catalog.csv`` (or the frame of :func:`read_lenscat`).
    """
    gate, definition = "anchor_crossmatch", f"anchors farther than {max_sep_arcsec:g} arcsec from their lenscat lens"
    kw = {"threshold": 0, "direction": "==", "definition": definition}
    missing = [c for c in (name, ra, dec) if c not in anchors]
    if missing:
        return not_run(gate, f"anchor table lacks column(s) {missing}", **kw)
    if anchors.empty:
        return not_run(gate, "anchor table is empty", **kw)
    from astropy import units as u  # imported here: astropy takes seconds to import
    from astropy.coordinates import SkyCoord

    cat = catalogue if isinstance(catalogue, pd.DataFrame) else read_lenscat(catalogue)
    cat_sky = SkyCoord(cat["ra_deg"].to_numpy() * u.deg, cat["dec_deg"].to_numpy() * u.deg)
    sky = SkyCoord(pd.to_numeric(anchors[ra]).to_numpy() * u.deg, pd.to_numeric(anchors[dec]).to_numpy() * u.deg)
    idx, sep, _ = sky.match_to_catalog_sky(cat_sky)
    by_jname: dict[str, list[int]] = {}
    for i, jn in enumerate(cat["jnames"]):
        for j in jn:
            by_jname.setdefault(j, []).append(i)
    rows = []
    for k, (anchor_name, i_near, s_near) in enumerate(zip(anchors[name].astype(str), idx, sep.arcsec, strict=True)):
        jn = _JNAME.findall(anchor_name)
        named = by_jname.get(jn[0], []) if jn else []
        if named:
            seps = sky[k].separation(cat_sky[named]).arcsec
            i_lens, s_lens, how = named[int(np.argmin(seps))], float(seps.min()), "name"
        else:
            i_lens, s_lens, how = int(i_near), float(s_near), "sky"
        rows.append({
            "name": anchor_name, "matched_by": how, "lenscat_name": cat["name"].iloc[i_lens],
            "lenscat_ra_deg": float(cat["ra_deg"].iloc[i_lens]), "lenscat_dec_deg": float(cat["dec_deg"].iloc[i_lens]),
            "lenscat_grading": cat["grading"].iloc[i_lens], "separation_arcsec": s_lens,
            "nearest_lenscat_name": cat["name"].iloc[int(i_near)], "nearest_separation_arcsec": float(s_near),
            "flagged": bool(s_lens > max_sep_arcsec),
        })
    n_flagged = sum(r["flagged"] for r in rows)
    return measured(gate, n_flagged, 0, "==", definition=definition,
                    reason=f"{n_flagged} of {len(rows)} anchors are > {max_sep_arcsec:g} arcsec from lenscat",
                    details={"anchors": rows, "max_sep_arcsec": max_sep_arcsec},
                    sample_sizes={"n_anchors": len(rows), "n_catalogue": len(cat)})


def arc_visibility_snr(stamps: np.ndarray, *, band: int = 1, inner: float = 4.0, outer: float = 16.0) -> np.ndarray:
    """Arc visibility on the host-subtracted image, one value per stamp (a significance, ≈ N(0, 1) without arc).

    The host is removed by point symmetry: ``D = x − rot180(x)`` about the centre pixel ``(H//2, W//2)`` cancels
    any point-symmetric light (a round or elliptical LRG and the sky) while an arc on one side survives.
    With ``σ = 1.4826·MAD(x[r ≥ outer])`` (per-pixel sky noise) and the ``k = n/2`` independent pixel pairs of the
    annulus ``inner ≤ r < outer``, ``q = Σ_pairs D²/(2σ²)`` is χ²_k for pure noise; the result is
    ``(q − k)/√(2k)``. Upstream's "arc_visibility_snr" (seed ``004`` phase 3) summed the raw annulus, so it
    measured the lens galaxy's own light (spec §5.17). A complete, centred Einstein ring is point-symmetric and
    cancels too: this rule under-counts rings (use the lenscat rule for those). Correlated coadd noise inflates
    the value.

    Parameters
    ----------
    stamps : ndarray, shape (N, C, H, W), nMgy
    """
    from dhs_train.preprocess import radius_image

    x = np.asarray(stamps, np.float64)[:, band]
    d = x - np.roll(x[:, ::-1, ::-1], 1, axis=(1, 2))  # pixel (y, x) minus pixel (2cy - y, 2cx - x)
    r = radius_image(*x.shape[-2:])
    ring, sky = (r >= inner) & (r < outer), r >= outer
    s = x[:, sky]
    sigma = 1.4826 * np.median(np.abs(s - np.median(s, axis=1, keepdims=True)), axis=1)
    k = ring.sum() / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (d[:, ring] ** 2).sum(axis=1) / (2 * sigma**2) / 2
        return (q - k) / np.sqrt(2 * k)


TIER_A_RULES = ("lenscat_confident", "arc_visibility")


def tier_a(crossmatch: GateResult, *, rule: Literal["lenscat_confident", "arc_visibility"] = "lenscat_confident",
           stamps: np.ndarray | None = None, min_snr: float = THRESHOLDS.tier_a_arc_snr_min) -> GateResult:
    """Tier-A anchors by a named rule; value = number of Tier-A anchors; pass iff ≥ 1 (a recall needs some).

    Rules
    -----
    ``"lenscat_confident"`` (the successor's rule, spec ``dhs.md`` §4): the anchor matched its lenscat lens within
    the cross-match radius and that entry's grading is "confident".
    ``"arc_visibility"``: additionally requires ``stamps`` (one per anchor, nMgy, cut at the *lenscat* position);
    Tier-A iff :func:`arc_visibility_snr` > ``min_snr`` (2.0) on the host-subtracted image and the anchor matched.
    """
    name = "tier_a"
    definition = (f"anchors matched within the cross-match radius and graded 'confident' in lenscat"
                  if rule == "lenscat_confident" else
                  f"anchors matched and with host-subtracted arc visibility SNR > {min_snr:g}")
    kw = {"threshold": 1, "direction": ">=", "definition": definition}
    if rule not in TIER_A_RULES:
        return not_run(name, f"unknown rule {rule!r}; choose one of {TIER_A_RULES}", **kw)
    if crossmatch.status == "not run":
        return not_run(name, f"anchor cross-match did not run: {crossmatch.reason}", **kw)
    rows: list[dict[str, Any]] = [dict(r) for r in crossmatch.details["anchors"]]
    if rule == "arc_visibility":
        if stamps is None or len(stamps) != len(rows):
            return not_run(name, f"rule 'arc_visibility' needs one stamp per anchor ({len(rows)}); got "
                           f"{None if stamps is None else len(stamps)}", **kw)
        snr = arc_visibility_snr(stamps)
        for row, v in zip(rows, snr, strict=True):
            row["arc_visibility_snr"] = float(v)
            row["tier_a"] = bool(not row["flagged"] and v > min_snr)
    else:
        for row in rows:
            row["tier_a"] = bool(not row["flagged"] and row["lenscat_grading"] == "confident")
    n_a = sum(r["tier_a"] for r in rows)
    return measured(name, n_a, 1, ">=", definition=definition, reason=f"rule: {rule}",
                    details={"rule": rule, "anchors": [{k: r[k] for k in ("name", "tier_a", "flagged",
                                                                          "lenscat_grading") if k in r}
                                                       | ({"arc_visibility_snr": r["arc_visibility_snr"]}
                                                          if "arc_visibility_snr" in r else {}) for r in rows]},
                    sample_sizes={"n_anchors": len(rows), "n_tier_a": n_a})
