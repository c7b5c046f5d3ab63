"""RS features: the per-galaxy structure-tensor fields, scale length, profiles and complexity C_G of a
Σ_b map, and the population thresholds that bin C_G into the threads factor xi (the steps are listed in
:mod:`rs_ilg.features`)."""


from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import Field
from tqdm.auto import tqdm

from ..config import config_dataclass
from ..constants import C_LAG, KPC_M_FEATURES, N_PROFILE_A, N_PROFILE_P, N_PROFILE_R0_KPC, XI_BINS
from ..master import MIN_POINTS_GRID, population, too_few_points
from ..modes import ModeConfig
from ..profiles import labelled_medians, pixel_radius
from ..proxies import ComponentWeights, bulge_shape, cell_centres, component_weights
from ..solvers import central_gradient, periodic_gaussian_filter


#: Arrays of ``fields.npz`` (float32, shape (ny, nx)).
FIELD_NAMES: tuple[str, ...] = ("traceS", "ell_rec_kpc", "anisotropy", "D_iso")
#: Arrays of ``profiles.npz`` (float32, one entry per ring).
PROFILE_NAMES: tuple[str, ...] = ("r_kpc", "n_of_r", "zeta_of_r")

#: Newton's constant [m^3 kg^-1 s^-2] and the solar mass [kg] (IAU 2015 / CODATA 2018), for g_ext.
G_SI: float = 6.67430e-11
MSUN_KG: float = 1.988409870698051e30


@config_dataclass
class FeaturesConfig:
    """Settings of the features builder (defaults = the original ``build_sparc_features.py``).

    nx, ny: grid size; box_factor_xy: half-box in units of R_d; lambda_rec_kpc: recognition length [kpc]
    (Gaussian smoothing width and ell_rec scale); A, p: n(r) amplitude and exponent; r0_kpc: n(r) scale
    used when ``mode.features_n_r0 == "profile_r0"``; bins: B for xi; min_points: minimum number of points
    with r > 0 and Vobs > 0; ml_disk: disc M/L of the component weights (the original has no such option
    and uses 1). Validated when built (``pydantic.ValidationError``, a ``ValueError``).
    """

    nx: Annotated[int, Field(ge=8)] = 96
    ny: Annotated[int, Field(ge=8)] = 96
    box_factor_xy: Annotated[float, Field(gt=0)] = 8.0
    lambda_rec_kpc: Annotated[float, Field(gt=0)] = 0.5
    A: float = N_PROFILE_A
    p: Annotated[float, Field(gt=0)] = N_PROFILE_P
    r0_kpc: Annotated[float, Field(gt=0)] = N_PROFILE_R0_KPC
    bins: Annotated[int, Field(ge=2)] = XI_BINS
    min_points: Annotated[int, Field(ge=1)] = MIN_POINTS_GRID
    ml_disk: Annotated[float, Field(gt=0)] = 1.0


@dataclass
class GalaxyFeatures:
    """Features of one galaxy.

    rd_kpc: derived R_d' [kpc] (``Rd_kpc`` in features.json); rd_input_kpc: the R_d the proxy was built
    from (NaN for an external map); pixscale_kpc: grid spacing dx [kpc]; complexity: C_G [pixel^-2];
    fields: :data:`FIELD_NAMES` arrays (float32, (ny, nx)); profiles: :data:`PROFILE_NAMES` arrays
    (float32); xi_bin, u_center, xi: threads factor (None until thresholds are applied); g_ext_SI [m/s^2].
    """

    name: str
    rd_kpc: float
    rd_input_kpc: float
    pixscale_kpc: float
    complexity: float
    fields: dict[str, np.ndarray]
    profiles: dict[str, np.ndarray]
    lambda_rec_kpc: float
    A: float
    p: float
    g_ext_SI: float = 0.0
    xi_bin: int | None = None
    u_center: float | None = None
    xi: float | None = None

    def with_thresholds(self, thresholds: Sequence[float], bins: int) -> GalaxyFeatures:
        """Copy with xi_bin, u_center and xi set from ``thresholds`` (see :func:`xi_from_value`)."""
        b, u, xi = xi_from_value(self.complexity, thresholds, bins)
        out = GalaxyFeatures(**{**self.__dict__})
        out.xi_bin, out.u_center, out.xi = b, u, xi
        return out

    def features_json(self, thresholds_file: str = "", provenance: Mapping[str, Any] | None = None) -> dict:
        """The ``features.json`` content: the original's keys, then ``C_G`` and ``Rd_input_kpc``."""
        return {
            "Rd_kpc": float(self.rd_kpc),
            "xi": None if self.xi is None else float(self.xi),
            "xi_bin": None if self.xi_bin is None else int(self.xi_bin),
            "u_center": None if self.u_center is None else float(self.u_center),
            "g_ext_SI": float(self.g_ext_SI),
            "pixscale_kpc": float(self.pixscale_kpc),
            "lambda_rec_kpc": float(self.lambda_rec_kpc),
            "A": float(self.A),
            "p": float(self.p),
            "thresholds_file": thresholds_file,
            "provenance": dict(provenance or {}),
            "C_G": float(self.complexity),
            "Rd_input_kpc": None if not math.isfinite(self.rd_input_kpc) else float(self.rd_input_kpc),
        }


@dataclass
class FeatureSet:
    """Features of a population: per-galaxy :class:`GalaxyFeatures` (with xi applied), the thresholds,
    the settings, and a ``skipped`` table (galaxy, reason) of galaxies left out."""

    galaxies: dict[str, GalaxyFeatures]
    thresholds: np.ndarray
    config: FeaturesConfig
    mode: ModeConfig
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["galaxy", "reason"]))

    def thresholds_json(self) -> dict:
        """The ``thresholds.json`` content.

        ``pixscale_kpc`` is the original's placeholder 4 box_factor_xy / nx (spec 12.18: the real spacing
        differs per galaxy and is in each ``features.json``); the key is kept for compatibility and
        ``pixscale_note`` says so.
        """
        cfg = self.config
        return {
            "thresholds": [float(t) for t in self.thresholds],
            "B": int(cfg.bins),
            "sample_size": len(self.galaxies),
            "pixscale_kpc": 4.0 * cfg.box_factor_xy / cfg.nx,
            "lambda_rec_kpc": float(cfg.lambda_rec_kpc),
            "A": float(cfg.A),
            "p": float(cfg.p),
            "pixscale_note": "placeholder kept from the original; per-galaxy spacing is in features.json",
            "mode": self.mode.to_dict(),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per galaxy: galaxy, Rd_kpc, Rd_input_kpc, pixscale_kpc, C_G, xi_bin, u_center, xi, g_ext_SI."""
        rows = [
            {"galaxy": g.name, "Rd_kpc": g.rd_kpc, "Rd_input_kpc": g.rd_input_kpc, "pixscale_kpc": g.pixscale_kpc,
             "C_G": g.complexity, "xi_bin": g.xi_bin, "u_center": g.u_center, "xi": g.xi, "g_ext_SI": g.g_ext_SI}
            for g in self.galaxies.values()
        ]  # fmt: skip
        cols = ["galaxy", "Rd_kpc", "Rd_input_kpc", "pixscale_kpc", "C_G", "xi_bin", "u_center", "xi", "g_ext_SI"]
        return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------------------------- physics


def feature_sigma_proxy(
    rd_kpc: float, weights: ComponentWeights, *, nx: int = 96, ny: int = 96, box_factor_xy: float = 8.0,
    mode: ModeConfig,
) -> tuple[np.ndarray, float, float]:
    """Sigma_b proxy of the feature builder, shape (ny, nx), peak 1; returns (Sigma, dx, dy) [kpc].

    The bulge is ``1/max((R^2 + a_b^2)^2, 1e-6)`` [kpc^-4] with a_b = max(0.2 R_d, 0.05 kpc). Under
    ``mode.bulge_3d == "unnormalised_hernquist"`` (compat) it enters unnormalised, so any bulge weight makes
    it dominate after the divide-by-max (spec 12.17); with ``"unit_peak"`` it is scaled to peak 1 first.
    """
    if not (np.isfinite(rd_kpc) and rd_kpc > 0):
        raise ValueError(f"R_d must be a positive finite number of kpc, got {rd_kpc!r}")
    lx = ly = 2.0 * box_factor_xy * rd_kpc
    x = cell_centres(nx, lx)
    y = cell_centres(ny, ly)
    rr = np.hypot(y[:, None], x[None, :])
    a_b = max(0.2 * rd_kpc, 0.05)
    sig = weights.disk * np.exp(-rr / rd_kpc) + weights.gas * np.exp(-rr / (1.7 * rd_kpc))
    if weights.bulge > 0:
        sig = sig + weights.bulge * bulge_shape(1.0 / np.maximum((rr**2 + a_b**2) ** 2, 1e-6), mode)
    peak = sig.max()
    if not peak > 0:
        raise ValueError("feature_sigma_proxy: all component weights are zero")
    return sig / peak, lx / nx, ly / ny


def structure_fields(
    sigma: np.ndarray, dx_kpc: float, lambda_rec_kpc: float, mode: ModeConfig, dy_kpc: float | None = None
) -> dict[str, np.ndarray]:
    """Structure-tensor fields of a 2D map ``sigma`` (laid out (y, x), spacing dx [kpc]); float64 arrays.

    s = grad ln max(Sigma, 1e-12) by periodic central differences in pixel units; S_xx, S_yy, S_xy are the
    products smoothed by a periodic Gaussian of lambda_rec/dx pixels (per axis). Returns ``sxx``, ``syy``,
    ``sxy``, ``traceS`` = S_xx + S_yy [pixel^-2], ``D_iso`` (1/(1 + 0.5 T) when
    ``mode.features_diso_half_trace``, else 1/(1 + T)), ``ell_rec_kpc`` = lambda_rec/sqrt(1 + T) [kpc],
    ``anisotropy`` = sqrt(lambda_min/lambda_max) (lambda_min clipped at 0, lambda_max floored at 1e-12,
    NaN -> 1) and ``zeta_local`` = clip(1 + C_lag (clip(aniso, 1e-6, 1) - 1), 0.8, 1.2).
    """
    sigma = np.asarray(sigma, dtype=float)
    if sigma.ndim != 2:
        raise ValueError(f"structure_fields needs a 2D map, got shape {sigma.shape}")
    dy_kpc = dx_kpc if dy_kpc is None else dy_kpc
    gy, gx = central_gradient(np.log(np.maximum(sigma, 1e-12)), (1.0, 1.0))
    width = (lambda_rec_kpc / dy_kpc, lambda_rec_kpc / dx_kpc)
    sxx = periodic_gaussian_filter(gx * gx, width)
    syy = periodic_gaussian_filter(gy * gy, width)
    sxy = periodic_gaussian_filter(gx * gy, width)
    trace = sxx + syy
    d_iso = 1.0 / (1.0 + (0.5 if mode.features_diso_half_trace else 1.0) * trace)
    ell = lambda_rec_kpc / np.sqrt(1.0 + trace)
    half = 0.5 * trace
    disc = np.sqrt(np.maximum(half**2 - (sxx * syy - sxy**2), 0.0))
    lam_max, lam_min = half + disc, half - disc
    with np.errstate(invalid="ignore", divide="ignore"):
        aniso = np.sqrt(np.maximum(lam_min, 0.0) / np.maximum(lam_max, 1e-12))
    aniso = np.where(np.isfinite(aniso), aniso, 1.0)
    zeta = np.clip(1.0 + C_LAG * (np.clip(aniso, 1e-6, 1.0) - 1.0), 0.8, 1.2)
    return {"sxx": sxx, "syy": syy, "sxy": sxy, "traceS": trace, "D_iso": d_iso, "ell_rec_kpc": ell,
            "anisotropy": aniso, "zeta_local": zeta}  # fmt: skip


def ring_medians(values: np.ndarray, q_max: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Medians of ``values`` on rings ``|R_pix - q| in [-0.5, 0.5)`` for q = 1 .. q_max (pixels), by
    ``scipy.ndimage.median`` over the ring labels floor(R_pix + 0.5).

    R_pix is measured from the array centre; q_max defaults to min(nx, ny)//2 - 1. Returns (q, medians);
    an empty ring gives NaN.
    """
    if q_max is None:
        q_max = min(values.shape) // 2 - 1
    q = np.arange(1, q_max + 1)
    ring = np.floor(pixel_radius(values.shape) + 0.5).astype(np.int64)  # |R - q| in [-0.5, 0.5)
    return q, labelled_medians(values, ring, q)


def derive_rd(sigma: np.ndarray, dx_kpc: float) -> float:
    """Scale length [kpc] from the ring-median profile of ``sigma`` (spec 8 item 4).

    Fit ln Sigma = c - r/R_d by least squares over rmax/12 < r < rmax/2 (r = q dx, rmax = q_max dx, only
    positive medians). Fewer than 5 points or a slope >= 0 gives max(rmax/6, 0.5); the result is floored at
    0.5 kpc.
    """
    q, prof = ring_medians(sigma)
    r = q * dx_kpc
    rmax = q[-1] * dx_kpc
    sel = (r > rmax / 12.0) & (r < rmax / 2.0) & np.isfinite(prof) & (prof > 0)
    rd = max(rmax / 6.0, 0.5)
    if np.count_nonzero(sel) >= 5:
        slope = np.polyfit(r[sel], np.log(prof[sel]), 1)[0]
        if slope < 0:
            rd = -1.0 / slope
    return float(max(rd, 0.5))


def complexity(trace: np.ndarray, dx_kpc: float, rd_kpc: float, mode: ModeConfig) -> float:
    """C_G: median of the trace over pixels with 0.5 R_d <= R <= 2.5 R_d (R = R_pix dx) [pixel^-2].

    The original takes it from the float32 trace (``mode.features_trace_float32``). NaN if no pixel is in
    the annulus.
    """
    t = trace.astype(np.float32) if mode.features_trace_float32 else np.asarray(trace, dtype=float)
    rk = pixel_radius(trace.shape) * dx_kpc
    sel = (rk >= 0.5 * rd_kpc) & (rk <= 2.5 * rd_kpc)
    return float(np.median(t[sel])) if sel.any() else math.nan


def population_thresholds(values: Iterable[float], bins: int = XI_BINS) -> np.ndarray:
    """The (k/B), k = 1..B-1 quantiles (linear interpolation) of the finite ``values``."""
    v = np.asarray(list(values), dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("population_thresholds: no finite values")
    return np.quantile(v, np.arange(1, bins) / bins)


def xi_from_value(value: float, thresholds: Sequence[float], bins: int = XI_BINS) -> tuple[int, float, float]:
    """(bin, u, xi): bin = number of thresholds <= value, u = (bin + 1/2)/B, xi = 1 + C_lag sqrt(u)."""
    b = int(np.count_nonzero(np.asarray(thresholds, dtype=float) <= value))
    u = (b + 0.5) / bins
    return b, u, 1.0 + C_LAG * math.sqrt(u)


def features_from_map(
    name: str, sigma: np.ndarray, dx_kpc: float, config: FeaturesConfig, mode: ModeConfig, *,
    rd_input_kpc: float = math.nan, g_ext_si: float = 0.0, dy_kpc: float | None = None,
) -> GalaxyFeatures:
    """Features of one 2D Sigma map (laid out (y, x), spacing dx [kpc], centred on the galaxy), without xi.

    This is the per-galaxy core of the SPARC builder and the original ``features2d`` subcommand.
    """
    flds = structure_fields(sigma, dx_kpc, config.lambda_rec_kpc, mode, dy_kpc=dy_kpc)
    rd = derive_rd(sigma, dx_kpc)
    q, zeta_r = ring_medians(flds["zeta_local"])
    r = q * dx_kpc
    r0 = rd if mode.features_n_r0 == "derived_rd" else config.r0_kpc
    n_r = 1.0 + config.A * (1.0 - np.exp(-((r / r0) ** config.p)))
    return GalaxyFeatures(
        name=name, rd_kpc=rd, rd_input_kpc=float(rd_input_kpc), pixscale_kpc=float(dx_kpc),
        complexity=complexity(flds["traceS"], dx_kpc, rd, mode),
        fields={k: flds[k].astype(np.float32) for k in FIELD_NAMES},
        profiles={"r_kpc": r.astype(np.float32), "n_of_r": n_r.astype(np.float32), "zeta_of_r": zeta_r.astype(np.float32)},
        lambda_rec_kpc=config.lambda_rec_kpc, A=config.A, p=config.p, g_ext_SI=float(g_ext_si),
    )  # fmt: skip


def project_density(rho: np.ndarray, mode: ModeConfig) -> np.ndarray:
    """Surface density of a 3D density cube for the ``features3d`` path: the sum along
    ``mode.features3d_projection_axis`` (0 in the original, which is y in the (y, x, z) kernel layout,
    spec 12.20; 2 = z is the face-on projection)."""
    rho = np.asarray(rho, dtype=float)
    if rho.ndim != 3:
        raise ValueError(f"project_density needs a 3D cube, got shape {rho.shape}")
    return rho.sum(axis=mode.features3d_projection_axis)


def g_ext_from_neighbours(m_msun: Iterable[float], d_kpc: Iterable[float]) -> float:
    """External field [m/s^2] = sum of G M / D^2 over neighbours (masses in Msun, distances in kpc)."""
    m = np.asarray(list(m_msun), dtype=float) * MSUN_KG
    d = np.asarray(list(d_kpc), dtype=float) * KPC_M_FEATURES
    if m.shape != d.shape or np.any(~np.isfinite(m)) or np.any(~(d > 0)):
        raise ValueError("g_ext_from_neighbours: need equal-length finite masses and positive distances")
    return float(np.sum(G_SI * m / d**2))


def build_features(
    master: Mapping[str, Any], names: Sequence[str] | None, config: FeaturesConfig, mode: ModeConfig, *,
    thresholds: Sequence[float] | None = None, g_ext_si: Mapping[str, float] | None = None,
    limit: int = 0, progress: bool = True,
) -> FeatureSet:
    """Features of the galaxies ``names`` (master order; all of ``master`` when None).

    ``master`` maps names to galaxies with arrays ``r_kpc, v_obs, v_gas, v_disk, v_bul`` [kpc, km/s] and
    ``R_d_kpc`` (see :mod:`rs_ilg.master`; the mode decides heuristic or catalog R_d there). Galaxies with
    fewer than ``config.min_points`` points with r > 0 and Vobs > 0 are recorded in ``skipped``.
    ``limit`` > 0 keeps the first ``limit`` built galaxies. Thresholds are computed over the built
    population unless given. ``g_ext_si`` optionally maps names to an external field [m/s^2].
    """
    wanted = population(master, names)
    if names is not None:
        missing = sorted(set(names) - set(master))
        if missing:
            raise KeyError(f"galaxies not in the master table: {missing}")
    built: dict[str, GalaxyFeatures] = {}
    skipped: list[dict[str, str]] = []
    for name in tqdm(wanted, desc="features", disable=not progress):
        if limit and len(built) >= limit:
            break
        g = master[name]
        why = too_few_points(g, config.min_points)
        if why is not None:
            skipped.append({"galaxy": name, "reason": why})
            continue
        ok = g.usable()
        rd = float(g.R_d_kpc)
        if not (np.isfinite(rd) and rd > 0):
            skipped.append({"galaxy": name, "reason": f"R_d = {rd!r} is not a positive number"})
            continue
        w = component_weights(g.v_gas[ok], g.v_disk[ok], g.v_bul[ok], ml_disk=config.ml_disk, mode=mode)
        sigma, dx, dy = feature_sigma_proxy(rd, w, nx=config.nx, ny=config.ny, box_factor_xy=config.box_factor_xy, mode=mode)
        gext = float((g_ext_si or {}).get(name, 0.0))
        built[name] = features_from_map(name, sigma, dx, config, mode, rd_input_kpc=rd, g_ext_si=gext, dy_kpc=dy)
    if not built:
        raise ValueError("build_features: no galaxy could be built (see the skipped reasons): "
                         + "; ".join(f"{s['galaxy']}: {s['reason']}" for s in skipped[:5]))  # fmt: skip
    th = (population_thresholds((g.complexity for g in built.values()), config.bins) if thresholds is None
          else np.asarray(thresholds, dtype=float))  # fmt: skip
    if th.size != config.bins - 1:
        raise ValueError(f"need {config.bins - 1} thresholds for {config.bins} bins, got {th.size}")
    final = {n: g.with_thresholds(th, config.bins) for n, g in built.items()}
    return FeatureSet(galaxies=final, thresholds=th, config=config, mode=mode,
                      skipped=pd.DataFrame(skipped, columns=["galaxy", "reason"]))  # fmt: skip
