"""Imaging-derived Sigma_b pilot (spec section 9): from a galaxy image (FITS) to a background-subtracted
surface-brightness map, an exponential scale length R_d, a smoothed structure tensor and the recognition
fields d_iso / l_rec; plus the R_d comparison against the proxy R_d with bootstrap confidence intervals.

Steps per galaxy (:func:`pilot_galaxy`):

1. Image: the first 2D HDU with usable data (NaN -> 0); else a 3D cube's first plane (<= 4 planes) or its
   mean (:func:`load_image`). An input without a usable image (a SkyView "No data found" answer is a
   1-element FITS) is *unusable*: under ``PilotConfig.on_unusable="placeholder"`` (compat: what the original
   did silently) the built-in 512x512 Gaussian (sigma = 0.15 x 512 px) replaces it and the galaxy is
   flagged ``placeholder=True`` with the reason in ``image_status``; under ``"skip"`` (corrected) it is
   left out and recorded in ``skipped``; under ``"error"`` a :class:`PilotImageError` names the file.
2. Background: median after 3 passes of clipping at ``bg_clip`` x 1.4826 MAD; subtracted, negatives -> 0.
3. Optional deprojection about the image centre (affine, linear interpolation, edge mode "nearest") with
   the original's matrix ``Rot(-PA) @ diag(1, cos i)`` handed to the (row, col) resampler. Spec 12.21 calls
   its axes ambiguous because it was written for (x, y); read in (row, col) it is exactly the standard
   deprojection for a PA measured east of north with north = +row and east = -col: the major axis is
   turned onto the row axis and the minor axis stretched by 1/cos i (cos i floored at 1e-3). That is the
   convention of :func:`synthetic_disc_hdu`, and the tests check that an inclined synthetic disc
   deprojects onto the face-on one.
4. dx_kpc = ``dx_kpc`` or pixscale_arcsec [arcsec] x (1 arcsec in rad) x 1e3 x D [Mpc].
5. Radial profile: 0..r_max (the farthest pixel from the centre) in ``nbins`` linear bins, median per bin;
   R_d from a straight-line fit of ln I over bins with I > 0 between 10 % and 90 % of the radial range
   (all positive bins when fewer than 10) [kpc]; NaN when the slope is not negative.
6. Structure tensor of the linear image (compat) or of ln(image/peak) (``mode.pilot_tensor_on_log``):
   periodic central differences with spacing dx_kpc, products smoothed by a periodic Gaussian of
   sigma_pix = max(eta_sigma R_d/dx, 1) pixels (0.05 min(nx, ny) when R_d is not usable).
7. Fields: d_iso = 1/(1 + max(trS, 0)), l_rec = lambda0 (1 + kappa_rec max(trS, 0))^-1/2 [kpc].
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from astropy.io import fits
from scipy import ndimage
from tqdm.auto import tqdm

from . import atomicio
from .modes import ModeConfig
from .solvers import central_gradient, periodic_gaussian_filter

__all__ = [
    "ARCSEC_KPC_PER_MPC",
    "PilotConfig",
    "PilotImageError",
    "LoadedImage",
    "PilotGalaxy",
    "PilotResult",
    "gaussian_placeholder",
    "synthetic_disc_hdu",
    "no_data_hdu",
    "load_image",
    "clipped_background",
    "deproject",
    "radial_profile",
    "fit_exponential_rd",
    "pilot_galaxy",
    "read_pilot_inputs",
    "run_pilot",
    "validate_pilot_inputs",
    "synthetic_inputs",
    "bootstrap_ci",
    "rd_comparison",
    "write_pilot",
]

#: kpc subtended by one arcsec at 1 Mpc (= 1 arcsec in radians x 1e3).
ARCSEC_KPC_PER_MPC: float = math.radians(1.0 / 3600.0) * 1e3
#: Required and optional columns of the pilot input table.
INPUT_REQUIRED: tuple[str, ...] = ("name", "image_path", "pixscale_arcsec", "dist_mpc")
INPUT_OPTIONAL: tuple[str, ...] = ("inc_deg", "pa_deg", "center_x", "center_y")
#: Smallest image side accepted as a real image [pixels].
MIN_IMAGE_SIDE: int = 8
#: FITS keywords copied from the input primary header onto the output maps (WCS).
_WCS_KEYS = ("WCSAXES", "CTYPE1", "CTYPE2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CDELT1", "CDELT2",
             "CUNIT1", "CUNIT2", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "PC1_1", "PC1_2", "PC2_1", "PC2_2",
             "CROTA2", "EQUINOX", "RADESYS", "LONPOLE", "LATPOLE")  # fmt: skip

Unusable = Literal["placeholder", "skip", "error"]


class PilotImageError(ValueError):
    """An input image that cannot be used (``path``, ``reason``)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class PilotConfig:
    """Pilot settings (defaults = the original ``imaging_pilot.py``).

    bg_clip: clip threshold in robust sigmas; deproject: apply the inclination/PA deprojection;
    dx_kpc: pixel size override [kpc]; nbins: radial bins; eta_sigma: smoothing width in units of R_d;
    lambda0_kpc: recognition length scale [kpc]; kappa_rec: l_rec sensitivity to trS; on_unusable: what to
    do with an input without a usable image (see the module docstring); placeholder_size,
    placeholder_sigma_frac: the built-in Gaussian; log_floor_rel: floor of image/peak before the log when
    ``mode.pilot_tensor_on_log``.
    """

    bg_clip: float = 3.0
    deproject: bool = False
    dx_kpc: float | None = None
    nbins: int = 128
    eta_sigma: float = 0.1
    lambda0_kpc: float = 1.0
    kappa_rec: float = 1.0
    on_unusable: Unusable = "placeholder"
    placeholder_size: int = 512
    placeholder_sigma_frac: float = 0.15
    log_floor_rel: float = 1e-6

    @classmethod
    def compat(cls, **overrides: Any) -> PilotConfig:
        """The original: unusable images are replaced by the placeholder (flagged here, silent there)."""
        return cls(**{"on_unusable": "placeholder", **overrides})

    @classmethod
    def corrected(cls, **overrides: Any) -> PilotConfig:
        """Unusable images are skipped and recorded, never replaced."""
        return cls(**{"on_unusable": "skip", **overrides})

    def __post_init__(self) -> None:
        if self.nbins < 2:
            raise ValueError(f"nbins must be >= 2, got {self.nbins}")
        if self.on_unusable not in ("placeholder", "skip", "error"):
            raise ValueError(f"on_unusable must be 'placeholder', 'skip' or 'error', got {self.on_unusable!r}")
        if self.dx_kpc is not None and not self.dx_kpc > 0:
            raise ValueError(f"dx_kpc must be positive, got {self.dx_kpc}")


# ----------------------------------------------------------------------------------------- images


def gaussian_placeholder(size: int = 512, sigma_frac: float = 0.15) -> np.ndarray:
    """The original's placeholder image: a unit-peak circular Gaussian of sigma = sigma_frac x size pixels,
    centred at ((size-1)/2, (size-1)/2)."""
    c = (size - 1) / 2.0
    i = np.arange(size) - c
    s = sigma_frac * size
    return np.exp(-(i[:, None] ** 2 + i[None, :] ** 2) / (2.0 * s * s))


def synthetic_disc_hdu(
    *, size: int = 256, rd_kpc: float = 3.0, pixscale_arcsec: float = 1.5, dist_mpc: float = 10.0,
    inc_deg: float = 0.0, pa_deg: float = 0.0, peak: float = 100.0, background: float = 1.0,
    noise: float = 0.0, seed: int = 0, name: str = "MOCK",
) -> fits.PrimaryHDU:
    """An exponential-disc image in a FITS primary HDU (the embedded default's imaging input).

    I = background + peak exp(-R/R_d) (+ Gaussian noise of rms ``noise``), with R the in-plane radius of a
    disc of inclination ``inc_deg`` and position angle ``pa_deg`` (east of north; north = +row, east =
    -col). The header carries a simple TAN WCS with CDELT = pixscale, ``PIXSCALE`` [arcsec], ``DIST_MPC``,
    ``RD_KPC`` (true), ``INC_DEG``, ``PA_DEG``, ``OBJECT`` and ``BUNIT``.
    """
    dx_kpc = pixscale_arcsec * ARCSEC_KPC_PER_MPC * dist_mpc
    c = (size - 1) / 2.0
    row = (np.arange(size) - c)[:, None] * dx_kpc
    col = (np.arange(size) - c)[None, :] * dx_kpc
    pa, inc = math.radians(pa_deg), math.radians(inc_deg)
    u = row * math.cos(pa) - col * math.sin(pa)  # along the major axis
    v = row * math.sin(pa) + col * math.cos(pa)  # along the minor axis (projected)
    r = np.hypot(u, v / max(math.cos(inc), 1e-3))
    img = background + peak * np.exp(-r / rd_kpc)
    if noise > 0:
        img = img + np.random.default_rng(seed).normal(0.0, noise, img.shape)
    hdu = fits.PrimaryHDU(img.astype(np.float32))
    h = hdu.header
    h["OBJECT"] = name
    h["BUNIT"] = ("arbitrary", "synthetic surface brightness")
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
    h["CRPIX1"], h["CRPIX2"] = c + 1.0, c + 1.0
    h["CRVAL1"], h["CRVAL2"] = 0.0, 0.0
    h["CDELT1"], h["CDELT2"] = -pixscale_arcsec / 3600.0, pixscale_arcsec / 3600.0
    h["CUNIT1"], h["CUNIT2"] = "deg", "deg"
    h["PIXSCALE"] = (pixscale_arcsec, "arcsec per pixel")
    h["DIST_MPC"] = (dist_mpc, "distance [Mpc]")
    h["RD_KPC"] = (rd_kpc, "true exponential scale length [kpc]")
    h["INC_DEG"] = (inc_deg, "inclination [deg]")
    h["PA_DEG"] = (pa_deg, "position angle east of north [deg]")
    return hdu


def no_data_hdu() -> fits.PrimaryHDU:
    """A 1-element FITS like the SkyView "No data found" answers the original pilot received."""
    hdu = fits.PrimaryHDU(np.zeros(1, dtype=np.float32))
    hdu.header["COMMENT"] = "No data found"
    return hdu


@dataclass
class LoadedImage:
    """An image read from FITS: ``data`` (float64 2D, NaN -> 0) or None when unusable, the primary
    ``header``, and ``status`` ("ok: HDU k ..." or the reason it is unusable)."""

    data: np.ndarray | None
    header: fits.Header
    status: str


def _usable(arr: np.ndarray) -> str | None:
    """None if ``arr`` (2D) can serve as an image, else the reason."""
    if min(arr.shape) < MIN_IMAGE_SIDE:
        return f"image of shape {arr.shape} is smaller than {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE}"
    fin = arr[np.isfinite(arr)]
    if fin.size == 0:
        return "image has no finite pixel"
    if fin.max() == fin.min():
        return "image is constant"
    return None


def load_image(path: str | Path) -> LoadedImage:
    """Read the pilot image from a FITS file (spec 9 item 2); never substitutes anything.

    A missing file raises ``FileNotFoundError``. A file that is not FITS, or holds no usable 2D image or 3D
    cube (e.g. SkyView's 1-element "No data found" answer), gives ``data=None`` and the reason in
    ``status``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: image file not found")
    try:
        with fits.open(path, memmap=False) as hdul:
            header = hdul[0].header.copy()
            arrays = [(k, np.asarray(h.data, dtype=float)) for k, h in enumerate(hdul)
                      if getattr(h, "data", None) is not None and getattr(h, "is_image", False)]  # fmt: skip
    except (OSError, ValueError) as exc:
        return LoadedImage(None, fits.Header(), f"unreadable FITS ({exc})")
    reasons = []
    for k, arr in arrays:
        if arr.ndim == 2:
            why = _usable(arr)
            if why is None:
                return LoadedImage(np.nan_to_num(arr, nan=0.0), header, f"ok: HDU {k} 2D {arr.shape}")
            reasons.append(f"HDU {k}: {why}")
    for k, arr in arrays:
        if arr.ndim == 3:
            plane = arr[0] if arr.shape[0] <= 4 else np.nanmean(arr, axis=0)
            why = _usable(plane)
            if why is None:
                how = "first plane" if arr.shape[0] <= 4 else "mean"
                return LoadedImage(np.nan_to_num(plane, nan=0.0), header, f"ok: HDU {k} cube {arr.shape} ({how})")
            reasons.append(f"HDU {k}: {why}")
    shapes = ", ".join(f"HDU {k}: {a.shape}" for k, a in arrays) or "no image data"
    detail = "; ".join(reasons) if reasons else shapes
    return LoadedImage(None, header, f"no usable 2D image or 3D cube ({detail}); a SkyView 'No data found' answer looks like this")


# -------------------------------------------------------------------------------------- processing


def clipped_background(img: np.ndarray, clip: float = 3.0, passes: int = 3) -> float:
    """Median after ``passes`` rounds of keeping |v - median| <= clip x 1.4826 MAD (stops early when the
    MAD is 0)."""
    d = np.asarray(img, dtype=float).ravel()
    for _ in range(passes):
        med = np.median(d)
        mad = 1.4826 * np.median(np.abs(d - med))
        if not mad > 0:
            break
        d = d[np.abs(d - med) <= clip * mad]
    return float(np.median(d))


def deproject(img: np.ndarray, inc_deg: float, pa_deg: float) -> np.ndarray:
    """Deproject ``img`` about its centre ((ny-1)/2, (nx-1)/2): linear interpolation, edge mode "nearest".

    Output pixel (row, col) samples the input at ``Rot(-PA) diag(1, cos i) (row, col)`` (relative to the
    centre): the major axis (PA east of north; north = +row, east = -col) ends up along the row axis and
    the minor axis is stretched by 1/cos i, cos i floored at 1e-3.
    """
    ci = max(math.cos(math.radians(inc_deg)), 1e-3)
    c, s = math.cos(math.radians(pa_deg)), math.sin(math.radians(pa_deg))
    mat = np.array([[c, s], [-s, c]]) @ np.diag([1.0, ci])  # Rot(-PA) diag(1, cos i)
    centre = (np.array(img.shape, dtype=float) - 1.0) / 2.0
    return ndimage.affine_transform(img, mat, offset=centre - mat @ centre, order=1, mode="nearest")


def radial_profile(img: np.ndarray, dx_kpc: float, centre: tuple[float, float], nbins: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Median of ``img`` in ``nbins`` linear radial bins from 0 to the farthest pixel; returns (bin centres
    [kpc], medians), NaN for empty bins. ``centre`` is (row, col) in pixels."""
    ny, nx = img.shape
    r = np.hypot(np.arange(ny)[:, None] - centre[0], np.arange(nx)[None, :] - centre[1]).ravel() * dx_kpc
    edges = np.linspace(0.0, r.max(), nbins + 1)
    idx = np.clip(np.searchsorted(edges, r, side="right") - 1, 0, nbins - 1)
    order = np.argsort(idx, kind="stable")
    si, sv = idx[order], img.ravel()[order]
    lo = np.searchsorted(si, np.arange(nbins), side="left")
    hi = np.searchsorted(si, np.arange(nbins), side="right")
    med = np.array([np.median(sv[a:b]) if b > a else np.nan for a, b in zip(lo, hi)])
    return 0.5 * (edges[1:] + edges[:-1]), med


def fit_exponential_rd(r_kpc: np.ndarray, prof: np.ndarray) -> float:
    """R_d [kpc] from a least-squares fit of ln I = c - r/R_d over bins with I > 0 in 10-90 % of the radial
    range (all positive bins when fewer than 10 qualify); NaN when the slope is not negative or fewer than
    2 bins are usable."""
    rmax = r_kpc[-1] + 0.5 * (r_kpc[-1] - r_kpc[-2]) if r_kpc.size > 1 else r_kpc[-1]
    pos = np.isfinite(prof) & (prof > 0)
    sel = pos & (r_kpc >= 0.1 * rmax) & (r_kpc <= 0.9 * rmax)
    if np.count_nonzero(sel) < 10:
        sel = pos
    if np.count_nonzero(sel) < 2:
        return math.nan
    slope = np.polyfit(r_kpc[sel], np.log(prof[sel]), 1)[0]
    return float(-1.0 / slope) if slope < 0 else math.nan


@dataclass
class PilotGalaxy:
    """Pilot outputs of one galaxy. Maps are float32 (ny, nx): ``sigmab`` (background-subtracted image, input
    flux units), ``sxx``, ``syy``, ``sxy``, ``trace`` (structure tensor; (flux/kpc)^2 on the linear image,
    kpc^-2 on the log image), ``d_iso`` (dimensionless), ``l_rec`` [kpc]. ``R_d_kpc`` and ``dx_kpc`` [kpc];
    ``placeholder`` says the built-in Gaussian replaced an unusable input (``image_status`` says why)."""

    name: str
    R_d_kpc: float
    dx_kpc: float
    sigmab: np.ndarray
    sxx: np.ndarray
    syy: np.ndarray
    sxy: np.ndarray
    trace: np.ndarray
    d_iso: np.ndarray
    l_rec: np.ndarray
    profile_r_kpc: np.ndarray
    profile: np.ndarray
    image_status: str
    placeholder: bool
    deprojected: bool
    tensor_on_log: bool
    header: fits.Header = field(default_factory=fits.Header)

    def features_json(self) -> dict:
        """``features.json``: R_d_kpc and dx_kpc (the original's keys), then placeholder and image_status."""
        return {"R_d_kpc": float(self.R_d_kpc), "dx_kpc": float(self.dx_kpc), "placeholder": bool(self.placeholder),
                "image_status": self.image_status}  # fmt: skip

    def fields_npz(self) -> dict[str, np.ndarray]:
        """``fields.npz``: d_iso, l_rec, trace (float32) plus rd_kpc and dx_kpc."""
        return {"d_iso": self.d_iso, "l_rec": self.l_rec, "trace": self.trace,
                "rd_kpc": np.float64(self.R_d_kpc), "dx_kpc": np.float64(self.dx_kpc)}  # fmt: skip


def pilot_galaxy(
    name: str, image: np.ndarray | None, *, pixscale_arcsec: float, dist_mpc: float, config: PilotConfig,
    mode: ModeConfig, inc_deg: float | None = None, pa_deg: float | None = None,
    center: tuple[float, float] | None = None, header: fits.Header | None = None, image_status: str = "ok",
) -> PilotGalaxy:
    """Run the pilot on one in-memory image (``None`` = unusable: placeholder or error per ``config``).

    ``center`` is (row, col) in pixels (default: image centre). Deprojection needs ``inc_deg`` and
    ``pa_deg`` (missing values count as 0).
    """
    placeholder = image is None
    if placeholder:
        if config.on_unusable != "placeholder":
            raise PilotImageError(name, image_status)
        image = gaussian_placeholder(config.placeholder_size, config.placeholder_sigma_frac)
        image_status = f"placeholder: built-in {config.placeholder_size}x{config.placeholder_size} Gaussian used ({image_status})"
    img = np.nan_to_num(np.asarray(image, dtype=float), nan=0.0)
    if img.ndim != 2:
        raise ValueError(f"{name}: pilot image must be 2D, got shape {img.shape}")
    img = np.clip(img - clipped_background(img, config.bg_clip), 0.0, None)
    if config.deproject:
        img = deproject(img, inc_deg or 0.0, pa_deg or 0.0)
    if config.dx_kpc is not None:
        dx = float(config.dx_kpc)
    else:
        if not (pixscale_arcsec > 0 and dist_mpc > 0):
            raise ValueError(f"{name}: pixscale_arcsec ({pixscale_arcsec}) and dist_mpc ({dist_mpc}) must be positive")
        dx = pixscale_arcsec * ARCSEC_KPC_PER_MPC * dist_mpc
    ny, nx = img.shape
    cen = ((ny - 1) / 2.0, (nx - 1) / 2.0) if center is None else (float(center[0]), float(center[1]))
    prof_r, prof = radial_profile(img, dx, cen, config.nbins)
    rd = fit_exponential_rd(prof_r, prof)
    if mode.pilot_tensor_on_log:
        peak = img.max()
        base = np.log(np.maximum(img / peak if peak > 0 else img, config.log_floor_rel))
    else:
        base = img
    gy, gx = central_gradient(base, (dx, dx))
    sig_px = max(config.eta_sigma * rd / dx, 1.0) if (math.isfinite(rd) and rd > 0) else 0.05 * min(nx, ny)
    sxx = periodic_gaussian_filter(gx * gx, sig_px)
    syy = periodic_gaussian_filter(gy * gy, sig_px)
    sxy = periodic_gaussian_filter(gx * gy, sig_px)
    tr = sxx + syy
    trp = np.maximum(tr, 0.0)
    f32 = np.float32
    return PilotGalaxy(
        name=name, R_d_kpc=rd, dx_kpc=dx, sigmab=img.astype(f32), sxx=sxx.astype(f32), syy=syy.astype(f32),
        sxy=sxy.astype(f32), trace=tr.astype(f32), d_iso=(1.0 / (1.0 + trp)).astype(f32),
        l_rec=(config.lambda0_kpc / np.sqrt(1.0 + config.kappa_rec * trp)).astype(f32),
        profile_r_kpc=prof_r, profile=prof, image_status=image_status, placeholder=placeholder,
        deprojected=config.deproject, tensor_on_log=mode.pilot_tensor_on_log,
        header=header.copy() if header is not None else fits.Header(),
    )  # fmt: skip


@dataclass
class PilotResult:
    """Pilot over an input table: ``galaxies`` (name -> :class:`PilotGalaxy`), ``skipped`` (galaxy,
    reason), and ``table()`` one row per processed galaxy."""

    galaxies: dict[str, PilotGalaxy]
    skipped: pd.DataFrame

    def table(self) -> pd.DataFrame:
        """galaxy, R_d_kpc, dx_kpc, placeholder, image_status."""
        rows = [{"galaxy": g.name, "R_d_kpc": g.R_d_kpc, "dx_kpc": g.dx_kpc, "placeholder": g.placeholder,
                 "image_status": g.image_status} for g in self.galaxies.values()]  # fmt: skip
        return pd.DataFrame(rows, columns=["galaxy", "R_d_kpc", "dx_kpc", "placeholder", "image_status"])


def read_pilot_inputs(path: str | Path) -> pd.DataFrame:
    """Read and check the pilot input CSV (columns name, image_path, pixscale_arcsec, dist_mpc, optional
    inc_deg, pa_deg, center_x, center_y), or ``<folder>/inputs.csv`` when ``path`` is a folder. Relative image
    paths are resolved against the CSV's folder. Errors name the file and the 1-based line."""
    path = Path(path)
    if path.is_dir():
        path = path / "inputs.csv"
    df = pd.read_csv(path, dtype={"name": str, "image_path": str})
    df.attrs["source"] = str(path)
    out = validate_pilot_inputs(df, source=str(path))
    out["image_path"] = [str(p if Path(p).is_absolute() else (path.parent / p)) for p in out["image_path"]]
    return out


def validate_pilot_inputs(df: pd.DataFrame, source: str = "<inputs>") -> pd.DataFrame:
    """Check columns and numbers of a pilot input table; returns a copy with numeric columns as float
    (optional ones NaN when absent). Errors name ``source`` and the CSV line (header = line 1)."""
    missing = [c for c in INPUT_REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}; need {list(INPUT_REQUIRED)}")
    out = df.copy()
    for c in INPUT_OPTIONAL:
        if c not in out.columns:
            out[c] = np.nan
    for c in ("pixscale_arcsec", "dist_mpc", *INPUT_OPTIONAL):
        vals = pd.to_numeric(out[c], errors="coerce")
        bad = vals.isna() & out[c].notna()
        if c in ("pixscale_arcsec", "dist_mpc"):
            bad |= ~(vals > 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"{source}:{i + 2}: column {c!r} has invalid value {out[c].iloc[i]!r}")
        out[c] = vals.astype(float)
    for i, (n, p) in enumerate(zip(out["name"], out["image_path"])):
        if not isinstance(n, str) or not n.strip() or not isinstance(p, str) or not p.strip():
            raise ValueError(f"{source}:{i + 2}: empty name or image_path")
    return out


def _opt(v: float) -> float | None:
    return None if (v is None or not np.isfinite(v)) else float(v)


def run_pilot(inputs: pd.DataFrame, config: PilotConfig, mode: ModeConfig, *, progress: bool = True) -> PilotResult:
    """Run the pilot over an input table (see :func:`validate_pilot_inputs`); images are read with
    :func:`load_image`. Unusable images follow ``config.on_unusable``; skipped galaxies are recorded."""
    inp = validate_pilot_inputs(inputs, source=str(inputs.attrs.get("source", "<inputs>")))
    done: dict[str, PilotGalaxy] = {}
    skipped: list[dict[str, str]] = []
    for row in tqdm(list(inp.itertuples(index=False)), desc="pilot", disable=not progress):
        loaded = load_image(row.image_path)
        if loaded.data is None and config.on_unusable == "skip":
            skipped.append({"galaxy": row.name, "reason": f"{row.image_path}: {loaded.status}"})
            continue
        if loaded.data is None and config.on_unusable == "error":
            raise PilotImageError(str(row.image_path), loaded.status)
        cx, cy = _opt(row.center_x), _opt(row.center_y)
        centre = (cy, cx) if (cx is not None and cy is not None) else None
        done[row.name] = pilot_galaxy(
            row.name, loaded.data, pixscale_arcsec=float(row.pixscale_arcsec), dist_mpc=float(row.dist_mpc),
            config=config, mode=mode, inc_deg=_opt(row.inc_deg), pa_deg=_opt(row.pa_deg), center=centre,
            header=loaded.header, image_status=loaded.status,
        )  # fmt: skip
    return PilotResult(galaxies=done, skipped=pd.DataFrame(skipped, columns=["galaxy", "reason"]))


# ------------------------------------------------------------------------------------- statistics


def bootstrap_ci(
    x: Sequence[float], statistic: str = "median", *, confidence: float = 0.95, n_resamples: int = 10000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the median or mean of ``x`` (NaNs dropped).

    Resamples are drawn as ``numpy.random.default_rng(seed).integers(0, n, (n_resamples, n))`` and the
    interval is the linear-interpolation quantiles (1 -+ confidence)/2 of the resampled statistic; this is
    the same computation as ``scipy.stats.bootstrap(..., method="percentile", rng=default_rng(seed))``.
    Fewer than 2 values give (NaN, NaN).
    """
    v = np.asarray(x, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return math.nan, math.nan
    fn = {"median": np.median, "mean": np.mean}[statistic]
    idx = np.random.default_rng(seed).integers(0, v.size, (n_resamples, v.size))
    theta = fn(v[idx], axis=-1)
    a = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(theta, [a, 1.0 - a])
    return float(lo), float(hi)


def rd_comparison(
    pilot_table: pd.DataFrame, proxy_rd_kpc: Mapping[str, float], *, confidence: float = 0.95,
    n_resamples: int = 10000, seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Imaging R_d against proxy R_d (e.g. the master table's R_d for the mode).

    Returns (per-galaxy table: galaxy, R_d_imaging_kpc, R_d_proxy_kpc, ratio = imaging/proxy,
    diff_kpc = imaging - proxy, placeholder; summary: one row per quantity with n, median, its bootstrap
    CI, mean, its bootstrap CI, and n_placeholder, the number of rows whose imaging R_d came from the
    placeholder image and so says nothing about the galaxy). Galaxies without a proxy R_d are left out
    of the statistics but kept in the table with NaN.
    """
    t = pilot_table[["galaxy", "R_d_kpc", "placeholder"]].rename(columns={"R_d_kpc": "R_d_imaging_kpc"}).copy()
    t["R_d_proxy_kpc"] = [float(proxy_rd_kpc.get(g, math.nan)) for g in t["galaxy"]]
    t["ratio"] = t["R_d_imaging_kpc"] / t["R_d_proxy_kpc"]
    t["diff_kpc"] = t["R_d_imaging_kpc"] - t["R_d_proxy_kpc"]
    t = t[["galaxy", "R_d_imaging_kpc", "R_d_proxy_kpc", "ratio", "diff_kpc", "placeholder"]]
    ok = np.isfinite(t["ratio"].to_numpy())
    rows = []
    for q in ("R_d_imaging_kpc", "R_d_proxy_kpc", "ratio", "diff_kpc"):
        v = t.loc[ok, q].to_numpy(dtype=float)
        kw = dict(confidence=confidence, n_resamples=n_resamples, seed=seed)
        mlo, mhi = bootstrap_ci(v, "median", **kw)
        alo, ahi = bootstrap_ci(v, "mean", **kw)
        rows.append({"quantity": q, "n": int(v.size),
                     "median": float(np.median(v)) if v.size else math.nan, "median_ci_low": mlo, "median_ci_high": mhi,
                     "mean": float(np.mean(v)) if v.size else math.nan, "mean_ci_low": alo, "mean_ci_high": ahi,
                     "confidence": confidence, "n_placeholder": int(t.loc[ok, "placeholder"].sum())})  # fmt: skip
    return t.reset_index(drop=True), pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------ files


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


def write_pilot(result: PilotResult, out_dir: str | Path, *, quicklook: bool = False,
                comparison: tuple[pd.DataFrame, pd.DataFrame] | None = None, progress: bool = True) -> Path:
    """Write per galaxy ``<name>/{sigmab,sxx,syy,sxy}.fits``, ``fields.npz``, ``features.json`` and (with
    ``quicklook``) ``quicklook.png``; plus ``pilot_summary.csv``, ``skipped.csv`` and, when given, the
    comparison as ``rd_comparison.csv`` / ``rd_comparison_summary.csv``. Every file is written atomically."""
    from .features import feature_dir_name
    from .plots import pilot_quicklook

    root = Path(out_dir)
    for g in tqdm(list(result.galaxies.values()), desc="write pilot", disable=not progress):
        d = root / feature_dir_name(g.name)
        for nm, hdu in fits_products(g).items():
            atomicio.write_fits(d / f"{nm}.fits", hdu)
        atomicio.write_npz(d / "fields.npz", g.fields_npz())
        atomicio.write_json(d / "features.json", g.features_json())
        if quicklook:
            fig = pilot_quicklook(g.sigmab, g.trace, g.name, placeholder=g.placeholder)
            atomicio.write_png(d / "quicklook.png", fig)
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
    from .features import feature_dir_name

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

    from .mock import make_mock_galaxies
    from .table import read_sparc_table

    table = read_sparc_table(table_path) if table_path is not None else make_mock_galaxies(n_galaxies, seed)[1]
    rows = table[table["Rdisk"] > 0].head(limit)
    galaxies = {str(n): SimpleNamespace(R_d_kpc=float(r["Rdisk"]), distance_mpc=float(r["D"])) for n, r in rows.iterrows()}
    out = Path(out_dir)
    inputs = synthetic_inputs(galaxies, out / "images", size=size, noise=noise, seed=seed)
    inputs["image_path"] = [str(Path(p).relative_to(out)) for p in inputs["image_path"]]
    return atomicio.write_text(out / "inputs.csv", inputs.to_csv(index=False))


# -------------------------------------------------------------------------------------------------- CLI


def register(sub: Any) -> None:
    """Add the ``pilot`` subcommand (options of the original ``imaging_pilot.py``, plus the R_d comparison)."""
    from .cli import _opt

    p = sub.add_parser("pilot", help="imaging Sigma_b pilot: FITS maps, fields, R_d comparison")
    p.add_argument(*_opt("--input-csv"), dest="input_csv", default="",
                   help="name, image_path, pixscale_arcsec, dist_mpc[, inc_deg, pa_deg, center_x, center_y]")  # fmt: skip
    p.add_argument(*_opt("--out-dir"), dest="out_dir", default="results/imaging_pilot")
    p.add_argument("--mode", choices=["compat", "corrected"], default="compat")
    p.add_argument(*_opt("--on-unusable"), dest="on_unusable", choices=["placeholder", "skip", "error"], default=None,
                   help="input without a usable image: placeholder (compat default, flagged), skip (corrected "
                        "default, recorded) or error")  # fmt: skip
    p.add_argument(*_opt("--bg-clip"), dest="bg_clip", type=float, default=3.0)
    p.add_argument("--deproject", action="store_true")
    p.add_argument(*_opt("--dx-kpc"), dest="dx_kpc", type=float, default=None)
    p.add_argument("--nbins", type=int, default=128)
    p.add_argument(*_opt("--eta-sigma"), dest="eta_sigma", type=float, default=0.1)
    p.add_argument(*_opt("--lambda0-kpc"), dest="lambda0_kpc", type=float, default=1.0)
    p.add_argument(*_opt("--kappa-rec"), dest="kappa_rec", type=float, default=1.0)
    p.add_argument("--quicklook", action="store_true")
    p.add_argument(*_opt("--rotmod-dir"), dest="rotmod_dir", default="",
                   help="with --table: compare imaging R_d with the master table's R_d of --mode")  # fmt: skip
    p.add_argument("--table", default="")
    p.add_argument(*_opt("--synthetic-dir"), dest="synthetic_dir", default="",
                   help="write synthetic disc images for the --rotmod-dir galaxies here and use them as input")  # fmt: skip
    p.add_argument(*_opt("--n-resamples"), dest="n_resamples", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(*_opt("--no-progress"), dest="progress", action="store_false")
    p.set_defaults(func=_cmd_pilot)


def _cmd_pilot(args: Any) -> None:
    from .cli import CLIError
    from .master import build_master
    from .rotmod import read_rotmod_dir
    from .table import read_sparc_table

    mode = ModeConfig.from_name(args.mode)
    base = PilotConfig.compat if args.mode == "compat" else PilotConfig.corrected
    over = {} if args.on_unusable is None else {"on_unusable": args.on_unusable}
    try:
        cfg = base(bg_clip=args.bg_clip, deproject=args.deproject, dx_kpc=args.dx_kpc, nbins=args.nbins,
                   eta_sigma=args.eta_sigma, lambda0_kpc=args.lambda0_kpc, kappa_rec=args.kappa_rec, **over)  # fmt: skip
        master = None
        if args.rotmod_dir:
            tab = read_sparc_table(args.table) if args.table else None
            master = build_master(read_rotmod_dir(args.rotmod_dir), tab, mode)
        if args.synthetic_dir:
            if master is None:
                raise ValueError("--synthetic-dir needs --rotmod-dir (and --table in corrected mode)")
            inputs = synthetic_inputs(master, args.synthetic_dir)
        elif args.input_csv:
            inputs = read_pilot_inputs(args.input_csv)
        else:
            raise ValueError("give --input-csv or --synthetic-dir")
        res = run_pilot(inputs, cfg, mode, progress=args.progress)
        comp = None
        if master is not None and res.galaxies:
            comp = rd_comparison(res.table(), {n: g.R_d_kpc for n, g in master.items()},
                                 n_resamples=args.n_resamples, seed=args.seed)  # fmt: skip
    except (ValueError, KeyError) as exc:
        raise CLIError(str(exc)) from None
    write_pilot(res, args.out_dir, quicklook=args.quicklook, comparison=comp, progress=args.progress)
    n_ph = sum(g.placeholder for g in res.galaxies.values())
    print(f"pilot: {len(res.galaxies)} galaxies ({n_ph} on the PLACEHOLDER image), {len(res.skipped)} skipped "
          f"-> {args.out_dir}")  # fmt: skip
    if n_ph:
        print("pilot: WARNING: placeholder R_d values say nothing about the galaxies (see image_status)")
