"""Per-galaxy 2D and 3D ILG grid runs on the master table (spec §6.1, §7.3–7.6, §10).

For each galaxy of the population (master ∩ subset, master order) a baryon proxy is built from R_d
and component ratios, the grid kernel K is computed, K is ring-averaged at the SPARC radii and
``v_model = sqrt(max(K_ring, 1e-6)) v_bar``. The fit is scored with the shared error model A and the
inner mask, and the Newtonian (K = 1) and MOND baselines are scored on exactly the same points.

Units: radii in kpc, velocities in km/s. All switches (grid, kernel options, ablations, precomputed
features) are fields of :class:`GridRunConfig`; mode-dependent behaviour comes from
:class:`~rs_ilg.modes.ModeConfig` (``cg_*`` solver settings, ``lrec_units_3d``, ``features_loader``,
``gext_units``, ``bulge_3d``, ``signed_v2``, ``dwarf_rule``).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from scipy.ndimage import map_coordinates
from tqdm.auto import tqdm

from pydantic import Field

from .config import config_dataclass
from .constants import A0_SI, KMS, KPC_M
from .error_model import mask_radius, score_same_points, sigma_total
from .features import GalaxyFeatures
from .gridsolve import SolverSettings
from .kernel2d import ilg_kernel_2d
from .kernel3d import ilg_kernel_3d_batch
from .kernels1d import mond_velocity
from .master import MIN_POINTS_GRID, Galaxy, baryonic_velocity, population, too_few_points
from .modes import ModeConfig
from .proxies import Grid3D, component_weights, rho_proxy_3d, sigma_proxy_2d
from .report import CHI2_COLUMNS

__all__ = [
    "GridRunConfig",
    "GalaxyGridResult",
    "GridRunResult",
    "feature_coefficients",
    "feature_permutation",
    "ring_average_at",
    "ring_profile",
    "run_galaxy_2d",
    "run_galaxies_3d",
    "run_grid",
    "summary_row",
]

_CONST_SIGMA_KMS = 10.0


@config_dataclass
class GridRunConfig:
    """Options of a 2D or 3D grid run (the original runners' flags, spec §6.3, §7.5).

    Grid: ``ndim`` (2 or 3); ``nx``/``ny``/``nz`` (2D uses nx × nx); ``box_factor_xy`` (half-box in R_d;
    the 2D ``--box_factor``); ``box_factor_z`` (3D half-box in h_z); ``smooth_sigma_rel`` (2D structure
    tensor width in R_d, floored at 0.5 px); ``smooth_sigma_vox`` (3D width in voxels, voxel units);
    ``lambda_rec_kpc`` and ``smooth_sigma_kpc`` (3D physical units: λ_rec and the tensor width, default λ).
    Kernel: ``anisotropic`` (the 2D runner is always anisotropic; 3D default off), ``ml_disk`` (Υ_disk),
    ``gext_ratio`` (external field in units of a0; when > 0 it overrides the features' ``g_ext_SI``; the 2D
    original hard-codes 0).
    Ablations (spec §10): ``d_identity`` (D → I), ``gext0`` (f_ext = 1, external field dropped),
    ``const_sigma`` (σ_eff = 10 km/s everywhere, errV dropped), ``no_inner_mask`` (b = 0 for mask and beam),
    ``k1_null`` (K = 1), ``permute_features`` / ``permute_seed`` (features of another galaxy by a seeded
    shuffle of the sorted names; acts only when features are given to :func:`run_grid`).
    Execution: ``solver`` — ``"fast"`` (default): FFT-preconditioned CG run to ``‖r‖ ≤ cg_tol ‖r₀‖`` (the
    mode's ``cg_tol``; no iteration cap but a 5000 safety net), which reproduces the reference results within
    the spec's tolerances (2D: chi2/N to 1e-6 relative; 3D: K to the 2e-3 by which converging the original's
    capped solves moves it, spec §11, §12.13); ``"original"``: the mode's own CG settings (compat: the
    original's plain CG with its per-step test and 400/60-iteration caps, which reproduces its unconverged 3D
    runs exactly). ``solver_dtype``: CG arithmetic, ``"auto"`` = float32 for converged 3D solves whose
    ``cg_tol`` float32 can meet (≥ 1e-6: compat's tolerance; K then agrees with float64 to ~1e-5), float64
    otherwise (2D, the original's capped solves, corrected mode's 1e-8). ``batch_size`` (3D galaxies per
    batched CG); ``n_jobs`` (worker processes, 0 = every core of the machine).
    Every field is validated when the config is built (``pydantic.ValidationError``, a ``ValueError``).
    """

    ndim: Literal[2, 3] = 3
    nx: Annotated[int, Field(ge=4)] = 32
    ny: Annotated[int, Field(ge=4)] | None = None
    nz: Annotated[int, Field(ge=4)] | None = None
    box_factor_xy: Annotated[float, Field(gt=0)] = 8.0
    box_factor_z: Annotated[float, Field(gt=0)] = 2.0
    smooth_sigma_rel: Annotated[float, Field(gt=0)] = 0.2
    smooth_sigma_vox: Annotated[float, Field(gt=0)] = 1.0
    lambda_rec_kpc: Annotated[float, Field(gt=0)] = 0.5
    smooth_sigma_kpc: Annotated[float, Field(gt=0)] | None = None
    anisotropic: bool = False
    ml_disk: Annotated[float, Field(gt=0)] = 1.0
    gext_ratio: Annotated[float, Field(ge=0)] = 0.0
    d_identity: bool = False
    gext0: bool = False
    const_sigma: bool = False
    no_inner_mask: bool = False
    k1_null: bool = False
    permute_features: bool = False
    permute_seed: int = 42
    solver: Literal["fast", "original"] = "fast"
    solver_dtype: Literal["auto", "float64", "float32"] = "auto"
    batch_size: Annotated[int, Field(ge=1)] = 1
    n_jobs: Annotated[int, Field(ge=0)] = 0

    @classmethod
    def run2d(cls, **kw: Any) -> GridRunConfig:
        """2D defaults of ``sparc_2d_proxy_runner.py``: 128², box 8 R_d, smoothing 0.2 R_d, anisotropic."""
        return cls(**{"ndim": 2, "nx": 128, "anisotropic": True, **kw})

    @classmethod
    def run3d(cls, **kw: Any) -> GridRunConfig:
        """3D defaults of ``sparc_3d_proxy_runner.py``: 32³, box 8 R_d × 2 h_z, smoothing 1 voxel, isotropic."""
        return cls(**{"ndim": 3, "nx": 32, **kw})

    @property
    def shape3d(self) -> tuple[int, int, int]:
        """(ny, nx, nz) of the 3D box."""
        return (self.ny or self.nx, self.nx, self.nz or self.nx)

    @property
    def jobs(self) -> int:
        """Worker processes: ``n_jobs``, or every core when it is 0."""
        return self.n_jobs or os.cpu_count() or 1

    def solver_settings(self, mode: ModeConfig) -> SolverSettings:
        """The CG settings of this run under ``mode`` (see ``solver`` and ``solver_dtype`` above)."""
        if self.solver == "fast":
            mode = replace(mode, cg_stop="relative_initial", cg_max_iter_2d=None, cg_max_iter_3d=None,
                           cg_max_iter_y1_3d=None)
        dtype = self.solver_dtype
        if dtype == "auto":
            converged = mode.cg_stop == "relative_initial" and mode.cg_tol >= 1e-6
            dtype = "float32" if self.ndim == 3 and converged else "float64"
        return SolverSettings.from_mode(mode, self.ndim, dtype=dtype)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (for run.json / MLflow)."""
        return asdict(self)


@dataclass(frozen=True)
class GalaxyGridResult:
    """One galaxy's grid run.

    ``points``: per-point table (2D: all kept points; 3D: in-box points) with the original columns
    (r_kpc, v_obs, v_err, v_baryon, w_ring | K_ring, v_model) plus v_mond, sigma_eff and ``evaluated``.
    N / chi2_over_N: ILG; chi2_over_N_newton, chi2_over_N_mond: the baselines on the same N points.
    ``cg_iterations`` / ``cg_rel_residual``: φ solve diagnostics (None when not tracked).
    ``features_from``: galaxy whose precomputed features were used (None: structure-tensor path).
    """

    galaxy: str
    N: int
    chi2_over_N: float
    chi2_over_N_newton: float
    chi2_over_N_mond: float
    points: pd.DataFrame
    K_minus_1_max: float
    cg_iterations: int | None = None
    cg_rel_residual: float | None = None
    features_from: str | None = None
    midplane: dict[str, np.ndarray] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class GridRunResult:
    """A run over a population: ``summary`` (galaxy, N, chi2_over_N, chi2_over_N_newton,
    chi2_over_N_mond, K_minus_1_max, cg_iterations, cg_rel_residual, features_from), per-galaxy
    ``galaxies`` and ``skipped`` (galaxy, reason)."""

    summary: pd.DataFrame
    galaxies: dict[str, GalaxyGridResult]
    skipped: pd.DataFrame
    config: GridRunConfig
    mode: ModeConfig

    def points_frame(self) -> pd.DataFrame:
        """Every galaxy's per-point table in one frame, with a ``galaxy`` column (run order)."""
        if not self.galaxies:
            return pd.DataFrame(columns=["galaxy"])
        return pd.concat([r.points.assign(galaxy=n) for n, r in self.galaxies.items()], ignore_index=True)


# ----------------------------------------------------------------------------------------------- rings
def ring_average_at(K: np.ndarray, radii_px: np.ndarray) -> np.ndarray:
    """Mean of a 2D field over the ring ``R_pix - ρ ∈ [-0.5, 0.5)`` for each ρ in ``radii_px``.

    R_pix is the distance of a pixel from the array centre ((ny-1)/2, (nx-1)/2). Empty rings give NaN.
    """
    ny, nx = K.shape
    jj, ii = np.indices(K.shape)
    rpix = np.hypot(ii - (nx - 1) / 2.0, jj - (ny - 1) / 2.0).ravel()
    kf = K.ravel()
    order = np.argsort(rpix, kind="stable")
    rs, ks = rpix[order], kf[order]
    out = np.full(len(radii_px), np.nan)
    for i, rho in enumerate(np.asarray(radii_px, dtype=float)):
        lo = np.searchsorted(rs, rho - 0.5, side="left")  # R_pix - ρ >= -0.5
        hi = np.searchsorted(rs, rho + 0.5, side="left")  # R_pix - ρ < 0.5
        if hi > lo:
            out[i] = ks[lo:hi].mean()
    return out


def ring_profile(K_mid: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Ring means of ``K_mid`` at integer pixel radii q = 1 … n//2 - 1 (spec §7.3 item 2).

    Returns (q, K_ring).
    """
    q = np.arange(1, n // 2, dtype=float)
    return q, ring_average_at(K_mid, q)


# ------------------------------------------------------------------------------------------- features
def feature_coefficients(feat: GalaxyFeatures, *, d_identity: bool = False) -> np.ndarray:
    """Isotropic coefficient field c2d = max(ℓ_rec, 0)² max(D_iso, 0) [kpc²] of precomputed features
    (spec §7.6), or ℓ² alone under D → I, on the feature grid. Non-finite values raise ``ValueError``."""
    ell = np.maximum(np.asarray(feat.fields["ell_rec_kpc"], dtype=float), 0.0)
    coeff = ell**2 if d_identity else ell**2 * np.maximum(np.asarray(feat.fields["D_iso"], dtype=float), 0.0)
    if coeff.ndim != 2 or not np.all(np.isfinite(coeff)):
        raise ValueError(f"features of {feat.name}: ell_rec_kpc/D_iso must be finite 2D arrays "
                         f"(got shape {coeff.shape})")
    return coeff


def feature_permutation(names: Sequence[str], seed: int) -> dict[str, str]:
    """Seeded shuffle of the sorted names: galaxy → the galaxy whose features it gets."""
    srt = sorted(names)
    perm = np.random.default_rng(seed).permutation(len(srt))
    return {srt[i]: srt[int(j)] for i, j in enumerate(perm)}


def _resize_corner_aligned(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize with corner pixels mapped onto corner pixels."""
    yy = np.linspace(0.0, a.shape[0] - 1.0, shape[0])
    xx = np.linspace(0.0, a.shape[1] - 1.0, shape[1])
    grid = np.meshgrid(yy, xx, indexing="ij")
    return map_coordinates(a, grid, order=1, mode="nearest")


# ------------------------------------------------------------------------------------------- helpers
def _external_ratio(mode: ModeConfig, cfg: GridRunConfig, g: Galaxy, v_bar: np.ndarray,
                    g_ext_si: float | None) -> float:
    """ε fed to the kernel's f: the external field relative to the grid's peak acceleration.

    compat (``gext_units="si_added_to_ratio"``): the SI value itself (≈1e-10: no effect, spec §12.10).
    corrected (``"ratio_of_a0"``): g_ext / g_peak with g_peak = max(v_bar²/r) in SI.
    """
    if cfg.gext0:
        return 0.0
    gext = cfg.gext_ratio * A0_SI if cfg.gext_ratio > 0 else (g_ext_si or 0.0)
    if gext == 0:
        return 0.0
    if mode.gext_units == "si_added_to_ratio":
        return float(gext)
    if mode.gext_units != "ratio_of_a0":
        raise ValueError(f"unknown gext_units {mode.gext_units!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        gb = (v_bar * KMS) ** 2 / (g.r_kpc * KPC_M)
    gpeak = float(np.nanmax(gb)) if np.any(np.isfinite(gb) & (gb > 0)) else math.nan
    if not gpeak > 0:
        raise ValueError(f"{g.name}: cannot scale g_ext, no point has v_bar > 0")
    return float(gext / gpeak)


@dataclass(frozen=True)
class _Scored:
    """A galaxy's grid fit scored with error model A and the inner mask (one entry per point)."""

    n: int
    chi2: dict[str, float]  # CHI2_COLUMNS -> chi2/N, the same N points for every model
    sigma: np.ndarray
    evaluated: np.ndarray
    v_mond: np.ndarray


def _score(g: Galaxy, mode: ModeConfig, cfg: GridRunConfig, v_bar: np.ndarray, v_model: np.ndarray) -> _Scored:
    """Error model A + inner mask; the same N points for ILG, Newtonian and MOND. The dwarf flag comes from
    the last 3 points (finite model or not), as in the original runners."""
    b = 0.0 if cfg.no_inner_mask else mask_radius(g, mode)
    sig = sigma_total(g, mode, evaluated=np.ones(g.n_points, bool), b_kpc=b,
                      const_sigma_kms=_CONST_SIGMA_KMS if cfg.const_sigma else None)
    evaluated = np.isfinite(v_model) & (g.r_kpc >= b)
    v_mond = mond_velocity(g.r_kpc, v_bar, "simple", distinct=mode.mond_nu_variants == "distinct")
    n, chi = score_same_points(g.v_obs, sig, evaluated, dict(zip(CHI2_COLUMNS, (v_model, v_bar, v_mond))))
    return _Scored(n=n, chi2=chi, sigma=sig, evaluated=evaluated, v_mond=v_mond)


def _result(g: Galaxy, sc: _Scored, points: dict[str, np.ndarray], K: np.ndarray, **extra: Any) -> GalaxyGridResult:
    pts = pd.DataFrame({"r_kpc": g.r_kpc, "v_obs": g.v_obs, "v_err": g.e_v, **points, "v_mond": sc.v_mond,
                        "sigma_eff": sc.sigma, "evaluated": sc.evaluated})  # fmt: skip
    return GalaxyGridResult(galaxy=g.name, N=sc.n, chi2_over_N=sc.chi2["chi2_over_N"],
                            chi2_over_N_newton=sc.chi2["chi2_over_N_newton"],
                            chi2_over_N_mond=sc.chi2["chi2_over_N_mond"], points=pts,
                            K_minus_1_max=float(np.max(K) - 1.0), **extra)  # fmt: skip


def _usable(galaxy: Galaxy) -> Galaxy:
    """The galaxy's points with r > 0 and Vobs > 0; ``ValueError`` when fewer than :data:`MIN_POINTS_GRID`."""
    why = too_few_points(galaxy, MIN_POINTS_GRID)
    if why is not None:
        raise ValueError(why)
    return galaxy.take(galaxy.usable())


# ----------------------------------------------------------------------------------------------- 2D
def run_galaxy_2d(galaxy: Galaxy, mode: ModeConfig, cfg: GridRunConfig) -> GalaxyGridResult:
    """2D run of one galaxy (spec §6.1). Raises ``ValueError`` if fewer than 5 usable points."""
    g = _usable(galaxy)
    rd = g.R_d_kpc
    v_bar = baryonic_velocity(g, mode, cfg.ml_disk)
    w = component_weights(g.v_gas, g.v_disk, g.v_bul, ml_disk=cfg.ml_disk, mode=mode)
    sigma, dx = sigma_proxy_2d(rd, w, nx=cfg.nx, box_factor=cfg.box_factor_xy)
    eps = _external_ratio(mode, cfg, g, v_bar, None)
    kr = ilg_kernel_2d(sigma, anisotropic=cfg.anisotropic, smooth_sigma_px=max(cfg.smooth_sigma_rel * rd / dx, 0.5),
                       gext=eps, d_identity=cfg.d_identity, solver=cfg.solver_settings(mode))
    K = np.ones_like(kr.K) if cfg.k1_null else kr.K
    w_ring = ring_average_at(K, g.r_kpc / dx)
    v_model = np.sqrt(np.maximum(w_ring, 1e-6)) * v_bar
    sc = _score(g, mode, cfg, v_bar, v_model)
    return _result(g, sc, {"v_baryon": v_bar, "w_ring": w_ring, "v_model": v_model}, K,
                   cg_iterations=kr.solve.phi.iterations, cg_rel_residual=kr.solve.phi.rel_residual)


# ----------------------------------------------------------------------------------------------- 3D
@dataclass(frozen=True)
class _Prepared3D:
    """One galaxy ready for the 3D kernel: usable points, v_bar, proxy box, optional coefficient field from
    precomputed features, external-field ratio and the galaxy whose features were used."""

    galaxy: Galaxy
    v_bar: np.ndarray
    box: Grid3D
    coeff: np.ndarray | None
    gext: float
    features_from: str | None


def _prepare_3d(galaxy: Galaxy, mode: ModeConfig, cfg: GridRunConfig,
                features: Mapping[str, GalaxyFeatures] | None, features_from: Mapping[str, str]) -> _Prepared3D:
    ny, nx, nz = cfg.shape3d
    g = _usable(galaxy)
    v_bar = baryonic_velocity(g, mode, cfg.ml_disk)
    w = component_weights(g.v_gas, g.v_disk, g.v_bul, ml_disk=cfg.ml_disk, mode=mode)
    box = rho_proxy_3d(g.R_d_kpc, w, nx=nx, ny=ny, nz=nz, box_factor_xy=cfg.box_factor_xy,
                       box_factor_z=cfg.box_factor_z, mode=mode)
    coeff, g_ext_si, src = None, None, None
    if features is not None:
        src = features_from.get(g.name, g.name)
        if src not in features:
            raise KeyError(f"no precomputed features for galaxy {src!r} (features of {len(features)} galaxies given)")
        feat = features[src]
        c2d = _resize_corner_aligned(feature_coefficients(feat, d_identity=cfg.d_identity), (ny, nx))
        coeff = np.repeat(c2d[:, :, None], nz, axis=2)
        g_ext_si = float(feat.g_ext_SI)
        if not (np.isfinite(g_ext_si) and g_ext_si >= 0):
            raise ValueError(f"features of {src}: g_ext_SI must be finite and >= 0, got {g_ext_si!r}")
    return _Prepared3D(galaxy=g, v_bar=v_bar, box=box, coeff=coeff, gext=_external_ratio(mode, cfg, g, v_bar, g_ext_si),
                       features_from=src)


def run_galaxies_3d(galaxies: Sequence[Galaxy], mode: ModeConfig, cfg: GridRunConfig, *,
                    features: Mapping[str, GalaxyFeatures] | None = None,
                    features_from: Mapping[str, str] | None = None) -> list[GalaxyGridResult]:
    """3D runs of several galaxies (one batched solve when ``cfg.batch_size`` > 1; spec §7).

    ``features``: precomputed features by galaxy name (:func:`rs_ilg.features.read_features` or
    ``FeatureSet.galaxies``); their D_iso and ℓ_rec replace the structure-tensor coefficients and their
    g_ext_SI the external field. With ``mode.features_loader == "dead"`` (compat) they are ignored, as in the
    original (spec §7.6), and so is the permutation. ``features_from``: galaxy → galaxy whose features it
    gets (permutation); default identity.
    """
    nz = cfg.shape3d[2]
    use = features if mode.features_loader == "working" else None
    prepared = [_prepare_3d(g, mode, cfg, use, features_from or {}) for g in galaxies]
    kernels = ilg_kernel_3d_batch(
        [p.box.rho for p in prepared], [p.box.spacing for p in prepared], anisotropic=cfg.anisotropic,
        d_identity=cfg.d_identity, units=mode.lrec_units_3d, smooth_sigma_vox=cfg.smooth_sigma_vox,
        lambda_rec_kpc=cfg.lambda_rec_kpc, smooth_sigma_kpc=cfg.smooth_sigma_kpc,
        coeff_override=[p.coeff for p in prepared], gext=[p.gext for p in prepared], solver=cfg.solver_settings(mode),
        k1_null=cfg.k1_null, batched_solve=cfg.batch_size > 1)
    out = []
    for p, kr in zip(prepared, kernels, strict=True):
        K_mid = kr.K[:, :, nz // 2]
        q, k_ring = ring_profile(K_mid, cfg.nx)
        r_grid = q * p.box.dx
        inbox = (p.galaxy.r_kpc > 0) & (p.galaxy.r_kpc <= r_grid[-1])
        gi = p.galaxy.take(inbox)
        vb = p.v_bar[inbox]
        k_at = np.interp(gi.r_kpc, r_grid, k_ring, left=np.nan)
        v_model = np.sqrt(np.maximum(k_at, 1e-6)) * vb
        sc = _score(gi, mode, cfg, vb, v_model)
        out.append(_result(gi, sc, {"v_baryon": vb, "K_ring": k_at, "v_model": v_model}, kr.K,
                           cg_iterations=kr.iterations, cg_rel_residual=kr.rel_residual,
                           features_from=p.features_from,
                           midplane={"K_mid": K_mid, "phi_mid": kr.phi[:, :, nz // 2], "dx_kpc": np.array(p.box.dx),
                                     "dy_kpc": np.array(p.box.spacing[0])}))  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------- driver
@dataclass(frozen=True)
class _Task:
    """A share of a run for one worker: galaxies, settings and the features they may use."""

    galaxies: list[Galaxy]
    mode: ModeConfig
    cfg: GridRunConfig
    features: Mapping[str, GalaxyFeatures] | None
    features_from: Mapping[str, str] | None


def _work(task: _Task) -> tuple[list[GalaxyGridResult], list[tuple[str, str]]]:
    res, skipped, ok = [], [], []
    for g in task.galaxies:
        why = too_few_points(g, MIN_POINTS_GRID)
        if why is not None:
            skipped.append((g.name, why))
        elif task.cfg.ndim == 2:
            res.append(run_galaxy_2d(g, task.mode, task.cfg))
        else:
            ok.append(g)
    for i in range(0, len(ok), task.cfg.batch_size):
        res.extend(run_galaxies_3d(ok[i:i + task.cfg.batch_size], task.mode, task.cfg, features=task.features,
                                   features_from=task.features_from))
    return res, skipped


#: Columns of :attr:`GridRunResult.summary`.
SUMMARY_COLUMNS = ["galaxy", "N", *CHI2_COLUMNS, "K_minus_1_max", "cg_iterations", "cg_rel_residual", "features_from"]


def summary_row(r: GalaxyGridResult) -> dict[str, Any]:
    """One :data:`SUMMARY_COLUMNS` row of a galaxy's result."""
    return {c: getattr(r, c) for c in SUMMARY_COLUMNS}


def run_grid(master: Mapping[str, Galaxy], mode: ModeConfig, cfg: GridRunConfig, *,
             subset: Sequence[str] | None = None, limit: int = 0, progress: bool = True,
             features: Mapping[str, GalaxyFeatures] | None = None,
             on_result: Callable[[GalaxyGridResult], None] | None = None,
             exclude: Collection[str] = ()) -> GridRunResult:
    """Run the 2D or 3D kernel over ``master ∩ subset`` in master order.

    limit: stop after this many galaxies have completed (0 = all), as the original's ``--limit``; galaxies
    with fewer than 5 usable points are skipped and listed in ``skipped`` (they do not count).
    ``features``: precomputed features by name, for the 3D kernel (see :func:`run_galaxies_3d`).
    ``on_result`` is called with each galaxy's result as soon as it is done (e.g. to write it);
    galaxies in ``exclude`` (already done) are not run and do not count against ``limit``.
    ``cfg.jobs`` > 1 distributes galaxies (or 3D batches) over worker processes; results are identical.
    """
    names = [n for n in population(master, subset) if n not in set(exclude)]
    feat_map = None
    if cfg.permute_features and features is not None and mode.features_loader == "working":
        feat_map = feature_permutation(population(master, subset), cfg.permute_seed)
    chunk = cfg.batch_size if cfg.ndim == 3 else 1
    want = limit if limit and limit > 0 else len(names)
    done: dict[str, GalaxyGridResult] = {}
    skipped: list[tuple[str, str]] = []
    pos = 0
    bar = tqdm(total=want, desc=f"ILG {cfg.ndim}D", disable=not progress)
    jobs = min(cfg.jobs, max(1, -(-want // chunk)))
    pool = ProcessPoolExecutor(jobs) if jobs > 1 else None
    try:
        while len(done) < want and pos < len(names):
            # the galaxies still needed, cut into tasks (a few per worker, whole 3D batches each)
            take = names[pos:pos + (want - len(done))]
            pos += len(take)
            per_task = max(chunk, -(-len(take) // (4 * jobs))) if pool else chunk
            tasks = [_Task([master[n] for n in take[i:i + per_task]], mode, cfg, features, feat_map)
                     for i in range(0, len(take), per_task)]
            results = pool.map(_work, tasks) if pool else map(_work, tasks)
            for res, skp in results:
                skipped.extend(skp)
                for r in res:
                    if len(done) < want:
                        done[r.galaxy] = r
                        if on_result is not None:
                            on_result(r)
                        bar.update(1)
    finally:
        bar.close()
        if pool:
            pool.shutdown()
    summary = pd.DataFrame([summary_row(r) for r in done.values()], columns=SUMMARY_COLUMNS)
    return GridRunResult(summary=summary, galaxies=done,
                         skipped=pd.DataFrame(skipped, columns=["galaxy", "reason"]), config=cfg, mode=mode)
