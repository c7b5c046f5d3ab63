"""The pilot per galaxy and over an input table: background, deprojection, radial profile and R_d, structure
tensor and recognition fields (spec section 9 items 2-7; the steps are listed in :mod:`rs_ilg.pilot`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.stats import sigma_clipped_stats
from pydantic import Field
from scipy import ndimage
from tqdm.auto import tqdm

from ..config import config_dataclass
from ..modes import ModeConfig
from ..profiles import labelled_medians
from ..solvers import central_gradient, periodic_gaussian_filter
from .images import ARCSEC_KPC_PER_MPC, MIN_IMAGE_SIDE, PilotImageError, gaussian_placeholder, load_image

#: Required and optional columns of the pilot input table.
INPUT_REQUIRED: tuple[str, ...] = ("name", "image_path", "pixscale_arcsec", "dist_mpc")
INPUT_OPTIONAL: tuple[str, ...] = ("inc_deg", "pa_deg", "center_x", "center_y")

Unusable = Literal["placeholder", "skip", "error"]


@config_dataclass
class PilotConfig:
    """Pilot settings (defaults = the original ``imaging_pilot.py``).

    bg_clip: clip threshold in robust sigmas; deproject: apply the inclination/PA deprojection;
    dx_kpc: pixel size override [kpc]; nbins: radial bins; eta_sigma: smoothing width in units of R_d;
    lambda0_kpc: recognition length scale [kpc]; kappa_rec: l_rec sensitivity to trS; on_unusable: what to
    do with an input without a usable image (see the module docstring; :meth:`from_mode` takes the mode's
    ``pilot_unusable_image``); placeholder_size, placeholder_sigma_frac: the built-in Gaussian;
    log_floor_rel: softening of the log image when ``mode.pilot_tensor_on_log``: the tensor is of
    ln(image/peak + eps) with eps = max(log_floor_rel, sky rms/peak), so the edge where the background
    subtraction leaves Σ_b = 0 adds no ring (a hard floor ln(max(Σ, 1e-12)) made one).
    """

    bg_clip: Annotated[float, Field(gt=0)] = 3.0
    deproject: bool = False
    dx_kpc: Annotated[float, Field(gt=0)] | None = None
    nbins: Annotated[int, Field(ge=2)] = 128
    eta_sigma: Annotated[float, Field(gt=0)] = 0.1
    lambda0_kpc: Annotated[float, Field(gt=0)] = 1.0
    kappa_rec: Annotated[float, Field(ge=0)] = 1.0
    on_unusable: Unusable = "placeholder"
    placeholder_size: Annotated[int, Field(ge=MIN_IMAGE_SIDE)] = 512
    placeholder_sigma_frac: Annotated[float, Field(gt=0)] = 0.15
    log_floor_rel: Annotated[float, Field(gt=0, lt=1)] = 1e-3

    @classmethod
    def from_mode(cls, mode: ModeConfig, **overrides: Any) -> PilotConfig:
        """Settings for ``mode``: unusable images handled as ``mode.pilot_unusable_image`` (placeholder in
        compat, flagged; skip in corrected, recorded), unless ``overrides`` say otherwise."""
        return cls(**{"on_unusable": mode.pilot_unusable_image, **overrides})


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
    """Median of ``img`` in ``nbins`` linear radial bins from 0 to the farthest pixel
    (``scipy.ndimage.median`` over the bin labels); returns (bin centres [kpc], medians), NaN for empty
    bins. ``centre`` is (row, col) in pixels."""
    ny, nx = img.shape
    r = np.hypot(np.arange(ny)[:, None] - centre[0], np.arange(nx)[None, :] - centre[1]) * dx_kpc
    edges = np.linspace(0.0, r.max(), nbins + 1)
    label = np.clip(np.searchsorted(edges, r, side="right") - 1, 0, nbins - 1)
    return 0.5 * (edges[1:] + edges[:-1]), labelled_medians(img, label, np.arange(nbins))




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
    _, sky, sky_rms = sigma_clipped_stats(img, sigma=config.bg_clip, maxiters=3, cenfunc="median", stdfunc="mad_std")
    img = np.clip(img - sky, 0.0, None)
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
        peak = img.max() if img.max() > 0 else 1.0
        eps = max(config.log_floor_rel, sky_rms / peak)
        base = np.log(img / peak + eps)
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


def _finite_or_none(v: float) -> float | None:
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
        cx, cy = _finite_or_none(row.center_x), _finite_or_none(row.center_y)
        centre = (cy, cx) if (cx is not None and cy is not None) else None
        done[row.name] = pilot_galaxy(
            row.name, loaded.data, pixscale_arcsec=float(row.pixscale_arcsec), dist_mpc=float(row.dist_mpc),
            config=config, mode=mode, inc_deg=_finite_or_none(row.inc_deg), pa_deg=_finite_or_none(row.pa_deg), center=centre,
            header=loaded.header, image_status=loaded.status,
        )  # fmt: skip
    return PilotResult(galaxies=done, skipped=pd.DataFrame(skipped, columns=["galaxy", "reason"]))
