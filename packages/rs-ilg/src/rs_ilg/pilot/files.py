"""Pilot products and files: the FITS maps (WCS and units in the headers), fields, features and quick-looks
of each galaxy, the summary tables, and the synthetic input folder of the embedded default."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from astropy.io import fits
from tqdm.auto import tqdm

from .. import atomicio
from ..features import feature_dir_name
from .images import ARCSEC_KPC_PER_MPC, synthetic_disc_hdu
from .processing import INPUT_OPTIONAL, INPUT_REQUIRED, PilotGalaxy, PilotResult

#: FITS keywords copied from the input primary header onto the output maps (WCS).
_WCS_KEYS = ("WCSAXES", "CTYPE1", "CTYPE2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CDELT1", "CDELT2",
             "CUNIT1", "CUNIT2", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "PC1_1", "PC1_2", "PC2_1", "PC2_2",
             "CROTA2", "EQUINOX", "RADESYS", "LONPOLE", "LATPOLE")  # fmt: skip


def _map_hdu(data: np.ndarray, g: PilotGalaxy, what: str, bunit: str) -> fits.PrimaryHDU:
    hdu = fits.PrimaryHDU(np.asarray(data, dtype=np.float32))
    h = hdu.header
    for k in _WCS_KEYS:
        if k in g.header:
            h[k] = g.header[k]
    h["OBJECT"] = g.name
    h["CONTENT"] = (what, "rs_ilg imaging pilot map")
    h["BUNIT"] = bunit
    h["DX_KPC"] = (float(g.dx_kpc), "pixel size [kpc]")
    h["RD_KPC"] = (float(g.R_d_kpc) if math.isfinite(g.R_d_kpc) else "NaN", "exponential scale length [kpc]")
    h["PLACEHLD"] = (bool(g.placeholder), "built-in placeholder image used")
    h["DEPROJ"] = (bool(g.deprojected), "deprojected (WCS is the input's)")
    h["TENSLOG"] = (bool(g.tensor_on_log), "tensor of ln(image), else linear")
    h["HISTORY"] = f"image: {g.image_status}"[:70]
    return hdu


def fits_products(g: PilotGalaxy) -> dict[str, fits.PrimaryHDU]:
    """The four FITS maps of one galaxy, ``{"sigmab", "sxx", "syy", "sxy"}``, with units and scale in the headers."""
    tunit = "kpc-2" if g.tensor_on_log else "(input unit/kpc)**2"
    out = {"sigmab": _map_hdu(g.sigmab, g, "sigmab", "input unit (background-subtracted)")}
    out.update({nm: _map_hdu(getattr(g, nm), g, nm, tunit) for nm in ("sxx", "syy", "sxy")})
    return out


def pilot_products(
    result: PilotResult, *, quicklook: bool = True
) -> tuple[dict[str, fits.PrimaryHDU], dict[str, dict[str, np.ndarray]], dict[str, dict], dict[str, Any]]:
    """What :func:`write_pilot` writes per galaxy, keyed ``"<galaxy folder>/<product>"``: the FITS maps
    (``sigmab``, ``sxx``, ``syy``, ``sxy``), ``fields`` (npz arrays), ``features`` (JSON) and ``quicklook``
    (a matplotlib figure; none when ``quicklook`` is False)."""
    from ..plots import pilot_quicklook

    maps, fields, feats, looks = {}, {}, {}, {}
    for g in result.galaxies.values():
        key = feature_dir_name(g.name)
        maps.update({f"{key}/{nm}": hdu for nm, hdu in fits_products(g).items()})
        fields[f"{key}/fields"] = g.fields_npz()
        feats[f"{key}/features"] = g.features_json()
        if quicklook:
            looks[f"{key}/quicklook"] = pilot_quicklook(g.sigmab, g.trace, g.name, placeholder=g.placeholder,
                                                        tensor_on_log=g.tensor_on_log)
    return maps, fields, feats, looks


def write_pilot(result: PilotResult, out_dir: str | Path, *, quicklook: bool = False,
                comparison: tuple[pd.DataFrame, pd.DataFrame] | None = None, progress: bool = True) -> Path:
    """Write per galaxy ``<name>/{sigmab,sxx,syy,sxy}.fits``, ``fields.npz``, ``features.json`` and (with
    ``quicklook``) ``quicklook.png``; plus ``pilot_summary.csv``, ``skipped.csv`` and, when given, the
    comparison as ``rd_comparison.csv`` / ``rd_comparison_summary.csv``. Every file is written atomically."""
    root = Path(out_dir)
    maps, fields, feats, looks = pilot_products(result, quicklook=quicklook)
    for key, hdu in tqdm(list(maps.items()), desc="write pilot", disable=not progress):
        atomicio.write_fits(root / f"{key}.fits", hdu)
    for key, arrays in fields.items():
        atomicio.write_npz(root / f"{key}.npz", arrays)
    for key, meta in feats.items():
        atomicio.write_json(root / f"{key}.json", meta)
    for key, fig in looks.items():
        atomicio.write_png(root / f"{key}.png", fig)
    atomicio.write_text(root / "pilot_summary.csv", result.table().to_csv(index=False))
    atomicio.write_text(root / "skipped.csv", result.skipped.to_csv(index=False))
    if comparison is not None:
        atomicio.write_text(root / "rd_comparison.csv", comparison[0].to_csv(index=False))
        atomicio.write_text(root / "rd_comparison_summary.csv", comparison[1].to_csv(index=False))
    return root


def synthetic_inputs(
    galaxies: Mapping[str, Any], out_dir: str | Path, *, size: int = 256, fov_rd: float = 20.0,
    noise: float = 0.0, seed: int = 0,
) -> pd.DataFrame:
    """Write one synthetic face-on exponential-disc FITS per galaxy under ``out_dir`` and return the pilot
    input table pointing at them (the embedded default's imaging input).

    ``galaxies`` maps names to master-table galaxies (:mod:`rs_ilg.master`): R_d = ``R_d_kpc``, distance =
    ``distance_mpc`` (10 Mpc when not positive). The pixel scale is chosen so that the ``size`` pixels span
    ``fov_rd`` R_d; the pilot's R_d is biased low when the disc fills the frame (the background estimate
    then includes disc light).
    """


    rows = []
    for k, (name, g) in enumerate(galaxies.items()):
        rd = float(g.R_d_kpc)
        dist = float(getattr(g, "distance_mpc", math.nan))
        dist = dist if (math.isfinite(dist) and dist > 0) else 10.0
        pix = fov_rd * rd / size / (ARCSEC_KPC_PER_MPC * dist)
        hdu = synthetic_disc_hdu(size=size, rd_kpc=rd, pixscale_arcsec=pix, dist_mpc=dist, noise=noise,
                                 seed=seed + k, name=name)  # fmt: skip
        path = atomicio.write_fits(Path(out_dir) / f"{feature_dir_name(name)}.fits", hdu)
        rows.append({"name": name, "image_path": str(path), "pixscale_arcsec": pix, "dist_mpc": dist,
                     "inc_deg": 0.0, "pa_deg": 0.0, "center_x": np.nan, "center_y": np.nan})  # fmt: skip
    return pd.DataFrame(rows, columns=[*INPUT_REQUIRED, *INPUT_OPTIONAL])


def write_synthetic_pilot_inputs(
    out_dir: str | Path, *, table_path: str | Path | None = None, n_galaxies: int = 12, seed: int = 0,
    limit: int = 6, size: int = 256, noise: float = 0.0,
) -> Path:
    """Write a pilot input folder (``inputs.csv`` + one synthetic disc FITS per galaxy) for the first ``limit``
    galaxies of a SPARC-format table (catalog ``Rdisk`` [kpc] and ``D`` [Mpc]), or of the mock galaxies
    ``make_mock_galaxies(n_galaxies, seed)`` when no table is given. A closure test of the imaging pilot:
    the true R_d of each image is the table's Rdisk. Returns the path of ``inputs.csv``.
    """
    from types import SimpleNamespace

    from ..mock import make_mock_galaxies
    from ..table import read_sparc_table

    table = read_sparc_table(table_path) if table_path is not None else make_mock_galaxies(n_galaxies, seed)[1]
    rows = table[table["Rdisk"] > 0].head(limit)
    galaxies = {str(n): SimpleNamespace(R_d_kpc=float(r["Rdisk"]), distance_mpc=float(r["D"])) for n, r in rows.iterrows()}
    out = Path(out_dir)
    inputs = synthetic_inputs(galaxies, out / "images", size=size, noise=noise, seed=seed)
    inputs["image_path"] = [str(Path(p).relative_to(out)) for p in inputs["image_path"]]
    return atomicio.write_text(out / "inputs.csv", inputs.to_csv(index=False))
