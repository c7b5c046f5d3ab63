"""1D global-only benchmarks (spec section 5): the ILG kernels, MOND and Newtonian baselines, and the
pure-global evaluation, all scored with the shared error model and inner mask (spec section 4).

Library functions take a master table (:class:`rs_ilg.master.Master`) and return DataFrames:
``per_galaxy`` (galaxy, N, chi2_over_N, ...) and ``points`` (one row per kept data point, with the model,
the Newtonian and MOND velocities and the ``evaluated`` flag), so every summary can put ILG beside
Newtonian (K = 1) and MOND on exactly the same points (:func:`baseline_table`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from tqdm.auto import tqdm

from .config import config_dataclass

from .constants import ALPHA, ALPHA_PURE_GLOBAL, DWARF_VOBS_KMS, HUBER_DELTA, XI_BINS
from .error_model import dwarf_flag, mask_radius, score_same_points, sigma_eff
from .kernels1d import (
    blend_bracket, g_bar_si, mond_velocity, n_raw, t_dyn_s, w_accel, w_blend, w_graph, w_time, xi_bin,
    xi_from_bin, xi_thresholds, zeta_pure_global, zeta_thickness,
)  # fmt: skip
from .master import (
    MIN_POINTS_FULL, MIN_POINTS_Q1, Galaxy, Master, baryonic_velocity, passes_quality_gate, select, too_few_points,
)  # fmt: skip
from .modes import ModeConfig
from .report import CHI2_COLUMNS

Kernel1D = Literal["time", "accel", "blend", "graph"]
#: Fewest points with r > 0 and Vobs > 0 the 1D benchmarks score (the original's rule).
MIN_POINTS_1D: int = 3
POINT_COLUMNS = ["galaxy", "r_kpc", "v_obs", "e_v", "sigma", "v_baryon", "w", "v_model", "v_newton", "v_mond",
                 "evaluated", "excluded_because"]  # fmt: skip


@config_dataclass
class Bench1DConfig:
    """Options of the 1D ILG benchmark (the original ``ilg_rotation_benchmark.py`` flags, spec 5.1).

    kernel: time | accel | blend | graph.  ml_disk: Upsilon_disk.  bins: B for xi.  gext_ratio: g_ext/a0.
    zeta_off: only honoured when ``mode.forward_zeta_off`` (the original ignores it).
    graph_tau, graph_sigma_kpc, graph_sigma_rel (sigma = rel R_d when > 0), graph_norm: only honoured when
    ``mode.forward_graph_options`` (the original always uses tau = 1, sigma = 2 kpc, unnormalised).
    xi_thresholds: frozen thresholds (``--xi_thresholds_in``). calibration_names: freeze thresholds, T_ref
    and the n normalisation on this subset (``--calibration_csv``).
    beam_kpc: per-galaxy beam / FWHM [kpc] (``--beam_csv``); mask_mode: beam | RdFWHM.
    swap_gas_star: swap the V_gas and V_disk arrays (negative control).
    permute_xi / permute_seed: permute the xi bin centres across galaxies.
    w_mult: per-galaxy multiplier of w (``--env_csv`` with ``w_mult``).
    min_points: galaxies with fewer kept points are skipped (3 in the original).
    """

    kernel: Kernel1D = "time"
    ml_disk: Annotated[float, Field(gt=0)] = 1.0
    bins: Annotated[int, Field(ge=2)] = XI_BINS
    gext_ratio: Annotated[float, Field(ge=0)] = 0.0
    zeta_off: bool = False
    graph_tau: Annotated[float, Field(gt=0)] = 1.0
    graph_sigma_kpc: Annotated[float, Field(gt=0)] = 2.0
    graph_sigma_rel: Annotated[float, Field(ge=0)] = 0.0
    graph_norm: bool = False
    xi_thresholds: tuple[float, ...] | None = None
    calibration_names: tuple[str, ...] | None = None
    beam_kpc: Mapping[str, float] | None = None
    mask_mode: Literal["beam", "RdFWHM"] = "beam"
    swap_gas_star: bool = False
    permute_xi: bool = False
    permute_seed: int = 42
    w_mult: Mapping[str, float] | None = None
    min_points: Annotated[int, Field(ge=1)] = MIN_POINTS_1D


@dataclass
class BenchResult:
    """Outputs of one benchmark run.

    per_galaxy: galaxy, N, chi2_over_N (the model's), in population order.
    points: one row per kept point (:data:`POINT_COLUMNS`).
    globals: population quantities (thresholds, T_ref, n normalisation, ...).
    skipped: galaxy, reason (galaxies left out, never silently).
    """

    per_galaxy: pd.DataFrame
    points: pd.DataFrame
    globals: dict[str, object] = field(default_factory=dict)
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["galaxy", "reason"]))


# ----------------------------------------------------------------------------------------------- globals


def _galaxy_arrays(g: Galaxy, swap_gas_star: bool) -> Galaxy:
    if not swap_gas_star:
        return g
    return replace(g, v_gas=g.v_disk.copy(), v_disk=g.v_gas.copy())


def n_scale_data_radii(galaxies: Sequence[Galaxy]) -> float:
    """Benchmark n normalisation: 1 / mean_g[ sum_i e^{-r_i/R_d} n_raw(r_i) / sum_i e^{-r_i/R_d} ] over all
    data radii (no mask)."""
    vals = []
    for g in galaxies:
        wt = np.exp(-g.r_kpc / g.R_d_kpc)
        vals.append(np.sum(wt * n_raw(g.r_kpc)) / np.sum(wt))
    return 1.0 / float(np.mean(vals))


def n_scale_analytic(galaxies: Sequence[Galaxy], trim: float = 0.1, n_grid: int = 600) -> float:
    """Pure-global n normalisation c_n: per galaxy the mean of n_raw under the weight r e^{-r/R_d} on
    [0.05 R_d, 6 R_d] (trapezoid, ``n_grid`` points); 1 / (two-sided trimmed mean, floor(trim N) per end)."""
    vals = []
    for g in galaxies:
        rd = g.R_d_kpc
        if not (np.isfinite(rd) and rd > 0):
            continue
        r = np.linspace(0.05 * rd, 6.0 * rd, n_grid)
        wt = r * np.exp(-r / rd)
        vals.append(np.trapezoid(wt * n_raw(r), r) / np.trapezoid(wt, r))
    v = np.sort(np.asarray(vals))
    k = int(math.floor(trim * v.size))
    if k > 0:
        v = v[k : v.size - k]
    return 1.0 / float(np.mean(v))


def _population_globals(gals: Sequence[Galaxy], config: Bench1DConfig, mode: ModeConfig) -> dict[str, object]:
    if config.xi_thresholds is not None:
        thr = np.asarray(config.xi_thresholds, dtype=float)
    else:
        thr = xi_thresholds(np.array([g.f_gas for g in gals]), config.bins)
    if mode.n_normalisation == "analytic":
        n_norm = n_scale_analytic(gals)
    else:
        n_norm = n_scale_data_radii(gals)
    tdyn = np.concatenate([t_dyn_s(g.r_kpc, baryonic_velocity(g, mode, config.ml_disk)) for g in gals])
    t_ref = float(np.median(tdyn))
    return {"xi_thresholds": thr, "n_scale": n_norm, "T_ref_s": t_ref}


# ----------------------------------------------------------------------------------------------- 1D ILG


def ilg_weight(g: Galaxy, v_bar: np.ndarray, config: Bench1DConfig, mode: ModeConfig, *, xi: float,
               n_scale: float, t_ref: float) -> np.ndarray:  # fmt: skip
    """w = xi n_scale n_raw zeta core at the galaxy's points (non-finite -> 1, floor 1e-6)."""
    r = g.r_kpc
    zeta_on = not (config.zeta_off and mode.forward_zeta_off) and mode.zeta_form != "off"
    zeta = zeta_thickness(r, g.R_d_kpc) if zeta_on else np.ones_like(r)
    tdyn = t_dyn_s(r, v_bar)
    gbar = g_bar_si(r, v_bar)
    if config.kernel == "time":
        core = w_time(tdyn, t_ref)
    elif config.kernel == "accel":
        core = w_accel(gbar, config.gext_ratio)
    elif config.kernel == "blend":
        core = w_blend(tdyn, t_ref, gbar, config.gext_ratio)
    elif config.kernel == "graph":
        tref_g = t_ref if mode.graph_tref == "population" else float(np.median(tdyn))
        q = blend_bracket(tdyn, tref_g, gbar, config.gext_ratio)
        q = np.where(np.isfinite(q), q, 0.0)
        if mode.forward_graph_options:
            sig = config.graph_sigma_rel * g.R_d_kpc if config.graph_sigma_rel > 0 else config.graph_sigma_kpc
            core = w_graph(r, q, config.graph_tau, sig, config.graph_norm)
        else:
            core = w_graph(r, q, 1.0, 2.0, False)
    else:
        raise ValueError(f"unknown 1D kernel {config.kernel!r}")
    with np.errstate(invalid="ignore", over="ignore"):
        w = xi * n_scale * n_raw(r) * zeta * core
    w = np.where(np.isfinite(w), w, 1.0)
    return np.maximum(w, 1e-6)


def _points_frame(rows: list[pd.DataFrame]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=POINT_COLUMNS)
    return pd.concat(rows, ignore_index=True)


def _score_galaxy(g: Galaxy, v_bar: np.ndarray, v_model: np.ndarray, mode: ModeConfig, b: float,
                  mond_variant: str = "simple") -> tuple[pd.DataFrame, int, float]:  # fmt: skip
    evaluated = (g.r_kpc >= b) & np.isfinite(v_model)
    dwarf = dwarf_flag(g, mode, g.v_obs[evaluated])
    sigma = sigma_eff(g.r_kpc, g.v_obs, g.e_v, b_kpc=b, R_d_kpc=g.R_d_kpc, dwarf=dwarf, model="A")
    n, chi = score_same_points(g.v_obs, sigma, evaluated, {"model": v_model})
    c2n = chi["model"]
    v_mond = mond_velocity(g.r_kpc, v_bar, mond_variant, distinct=mode.mond_nu_variants == "distinct")
    why = np.where(g.r_kpc < b, "inside the inner mask (r < b)", np.where(evaluated, "", "model not finite"))
    pts = pd.DataFrame({
        "galaxy": g.name, "r_kpc": g.r_kpc, "v_obs": g.v_obs, "e_v": g.e_v, "sigma": sigma, "v_baryon": v_bar,
        "v_model": v_model, "v_newton": v_bar, "v_mond": v_mond, "evaluated": evaluated, "excluded_because": why,
    })  # fmt: skip
    return pts, n, c2n


def run_bench1d(
    master: Master,
    mode: ModeConfig,
    config: Bench1DConfig = Bench1DConfig(),
    names: Sequence[str] | None = None,
    progress: bool = True,
) -> BenchResult:
    """The 1D ILG benchmark (``ilg_rotation_benchmark.py``) over ``names`` (default: the whole master).

    Population quantities (xi thresholds, n normalisation, T_ref) come from the population, or from
    ``config.calibration_names``. Galaxies with fewer than ``min_points`` kept points or N <= 1 evaluated
    points are recorded in ``skipped``.
    """
    pop = select(master, None if names is None else list(names))
    gals = [_galaxy_arrays(g, config.swap_gas_star) for g in pop.values()]
    calib = gals
    if config.calibration_names is not None:
        cset = set(config.calibration_names)
        calib = [g for g in gals if g.name in cset] or [_galaxy_arrays(master[n], config.swap_gas_star)
                                                        for n in config.calibration_names]  # fmt: skip
    glob = _population_globals(calib, config, mode)
    thr = np.asarray(glob["xi_thresholds"])
    bins = xi_bin(np.array([g.f_gas for g in gals]), thr) if gals else np.zeros(0, int)
    xis = xi_from_bin(bins, config.bins)
    if config.permute_xi:
        xis = np.random.default_rng(config.permute_seed).permutation(xis)
    rows, pts_all, skipped = [], [], []
    for g, xi in tqdm(list(zip(gals, xis, strict=True)), desc=f"bench1d[{config.kernel}]", disable=not progress):
        why = too_few_points(g, config.min_points)
        if why is not None:
            skipped.append({"galaxy": g.name, "reason": why})
            continue
        v_bar = baryonic_velocity(g, mode, config.ml_disk)
        w = ilg_weight(g, v_bar, config, mode, xi=float(xi), n_scale=float(glob["n_scale"]), t_ref=float(glob["T_ref_s"]))
        if config.w_mult is not None and g.name in config.w_mult:
            w = w * float(config.w_mult[g.name])
        v_model = np.sqrt(w) * v_bar
        beam = None if config.beam_kpc is None else config.beam_kpc.get(g.name)
        b = mask_radius(g, mode, beam_kpc=beam, mask_mode=config.mask_mode)
        pts, n, c2n = _score_galaxy(g, v_bar, v_model, mode, b)
        pts.insert(6, "w", w)
        if n <= 1:
            skipped.append({"galaxy": g.name, "reason": f"N = {n} evaluated points (need > 1)"})
            continue
        pts_all.append(pts)
        rows.append({"galaxy": g.name, "N": n, "chi2_over_N": c2n, "xi": float(xi), "xi_bin": int(np.sum(thr <= g.f_gas)),
                     "b_kpc": b})  # fmt: skip
    glob["xi_thresholds"] = [float(x) for x in thr]
    return BenchResult(
        per_galaxy=pd.DataFrame(rows, columns=["galaxy", "N", "chi2_over_N", "xi", "xi_bin", "b_kpc"]),
        points=_points_frame(pts_all),
        globals=glob,
        skipped=pd.DataFrame(skipped, columns=["galaxy", "reason"]),
    )


def run_mond(
    master: Master,
    mode: ModeConfig,
    names: Sequence[str] | None = None,
    *,
    ml_disk: float = 1.0,
    nu: Literal["simple", "standard", "fb"] = "simple",
    beam_kpc: Mapping[str, float] | None = None,
    mask_mode: Literal["beam", "RdFWHM"] = "beam",
    progress: bool = True,
) -> BenchResult:
    """The MOND benchmark (``mond_rotation_benchmark.py``): v = sqrt(nu(g_bar/a0)) v_bar, error model A."""
    pop = select(master, None if names is None else list(names))
    rows, pts_all, skipped = [], [], []
    for g in tqdm(list(pop.values()), desc="mond", disable=not progress):
        why = too_few_points(g, MIN_POINTS_1D)
        if why is not None:
            skipped.append({"galaxy": g.name, "reason": why})
            continue
        v_bar = baryonic_velocity(g, mode, ml_disk)
        v_model = mond_velocity(g.r_kpc, v_bar, nu, distinct=mode.mond_nu_variants == "distinct")
        beam = None if beam_kpc is None else beam_kpc.get(g.name)
        b = mask_radius(g, mode, beam_kpc=beam, mask_mode=mask_mode)
        pts, n, c2n = _score_galaxy(g, v_bar, v_model, mode, b, nu)
        pts.insert(6, "w", np.full(g.n_points, np.nan))
        if n <= 1:
            skipped.append({"galaxy": g.name, "reason": f"N = {n} evaluated points (need > 1)"})
            continue
        pts_all.append(pts)
        rows.append({"galaxy": g.name, "N": n, "chi2_over_N": c2n, "b_kpc": b})
    return BenchResult(
        per_galaxy=pd.DataFrame(rows, columns=["galaxy", "N", "chi2_over_N", "b_kpc"]),
        points=_points_frame(pts_all),
        globals={"nu": nu, "ml_disk": ml_disk},
        skipped=pd.DataFrame(skipped, columns=["galaxy", "reason"]),
    )


# ----------------------------------------------------------------------------------------------- baselines


def baseline_table(points: pd.DataFrame, model_col: str = "v_model") -> pd.DataFrame:
    """Per galaxy: N and chi2/N of the model, Newtonian (K = 1, v = v_bar) and MOND on exactly the same points.

    ``points`` needs columns galaxy, v_obs, sigma, evaluated, ``model_col``, v_newton, v_mond (as produced by
    the runners here; 2D/3D runners produce the same columns). Rows with ``evaluated`` False or a
    non-finite model are excluded for all three.
    """
    ev = points[points["evaluated"].astype(bool) & np.isfinite(points[model_col])]
    rows = []
    for name, df in ev.groupby("galaxy", sort=False):
        n, chi = score_same_points(df["v_obs"], df["sigma"], np.ones(len(df), bool),
                                   {c: df[m] for c, m in zip(CHI2_COLUMNS, (model_col, "v_newton", "v_mond"))})
        rows.append({"galaxy": name, "N": n, **chi})
    return pd.DataFrame(rows, columns=["galaxy", "N", *CHI2_COLUMNS])


# ----------------------------------------------------------------------------------------------- pure-global

PureGlobalVariant = Literal["head", "no_parameters"]
PureKernel = Literal["w_g", "w_t"]


def huber_mean(z: np.ndarray, delta: float = HUBER_DELTA) -> float:
    """Mean Huber loss of standardised residuals: z^2/2 for |z| <= delta, delta (|z| - delta/2) beyond."""
    a = np.abs(z)
    return float(np.mean(np.where(a <= delta, 0.5 * z * z, delta * (a - 0.5 * delta))))


@dataclass
class PureGlobalResult:
    """Outputs of :func:`run_pure_global` (the original's ``results/`` CSVs, as DataFrames).

    bench_rs / bench_mond: Q1 cohort per galaxy (name, N, chi2, chi2N, huber_*, medabs_*).
    per_cohort: {cohort: {kernel: per-galaxy frame}} for both core kernels and MOND.
    class_summary: {cohort: frame}; global_summary: one row per cohort; globals: population quantities.
    points: per-point frame of the Q1 cohort with the chosen kernel (columns as :data:`POINT_COLUMNS`).
    """

    bench_rs: pd.DataFrame
    bench_mond: pd.DataFrame
    per_cohort: dict[str, dict[str, pd.DataFrame]]
    class_summary: dict[str, pd.DataFrame]
    global_summary: pd.DataFrame
    globals: dict[str, object]
    points: pd.DataFrame


def run_pure_global(
    master: Master,
    mode: ModeConfig,
    *,
    variant: PureGlobalVariant = "head",
    anchor_kernel: PureKernel = "w_g",
    t_ref_s: float | None = None,
    ml_disk: float = 1.0,
    progress: bool = True,
) -> PureGlobalResult:
    """Pure-global evaluation (``pure_global_eval.py``, spec 5.3) over the whole master table.

    Population quantities (xi edges, c_n, T_ref, Sigma_0 median) come from every galaxy of ``master``.
    Cohorts: Q1 (quality gate, >= 7 points after the mask) and FULL (>= 5 points). The mask is applied
    first. Kernel per cohort: the lower median chi2/N of w_t and w_g when ``mode.select_kernel_by_chi2``
    (this uses V_obs), else ``anchor_kernel`` (the original's ``ILG_DERIVE_ONLY=1``). ``variant="no_parameters"``
    is the older script: w_g only, no caps on the error terms, dwarf = max(V_obs) < 80 km/s.
    """
    gals = list(master.values())
    alpha = ALPHA_PURE_GLOBAL if mode.pure_global_alpha_literal else ALPHA
    edges = xi_thresholds(np.array([g.f_gas for g in gals]), XI_BINS)
    c_n = n_scale_analytic(gals)
    if t_ref_s is None:
        per_gal = []
        for g in gals:
            td = t_dyn_s(g.r_kpc, baryonic_velocity(g, mode, 1.0))
            td = td[np.isfinite(td) & (td > 0)]
            if td.size:
                per_gal.append(np.median(td))
        t_ref_s = float(np.median(per_gal))
    s0_med = float(np.median([g.Sigma_0 for g in gals]))
    kernels: list[PureKernel] = ["w_g"] if variant == "no_parameters" else ["w_g", "w_t"]
    cohorts = {"Q1": MIN_POINTS_Q1, "FULL": MIN_POINTS_FULL}
    per_cohort: dict[str, dict[str, pd.DataFrame]] = {}
    pts_by_cohort: dict[str, dict[str, list[pd.DataFrame]]] = {}
    for cohort, min_pts in cohorts.items():
        recs: dict[str, list[dict[str, object]]] = {k: [] for k in [*kernels, "mond"]}
        pts: dict[str, list[pd.DataFrame]] = {k: [] for k in kernels}
        for g in tqdm(gals, desc=f"pure_global[{cohort}]", disable=not progress):
            if cohort == "Q1" and not passes_quality_gate(g, mode):
                continue
            b = mask_radius(g, mode)
            m = g.r_kpc >= b
            if np.count_nonzero(m) < min_pts:
                continue
            r, vo, ev = g.r_kpc[m], g.v_obs[m], g.e_v[m]
            v_bar = baryonic_velocity(g, mode, ml_disk)[m]
            xi = float(xi_from_bin(int(np.sum(edges <= (g.f_gas if np.isfinite(g.f_gas) else 0.0))), XI_BINS))
            zeta = zeta_pure_global(r, g.R_d_kpc) if mode.zeta_form == "per_script" else (
                zeta_thickness(r, g.R_d_kpc) if mode.zeta_form == "thickness" else np.ones_like(r))  # fmt: skip
            if variant == "no_parameters":
                dwarf = bool(np.max(g.v_obs) < DWARF_VOBS_KMS)
                model = "A"
            else:
                dwarf = bool(g.Sigma_0 < s0_med)
                model = "B"
            sig = sigma_eff(r, vo, ev, b_kpc=b, R_d_kpc=g.R_d_kpc, dwarf=dwarf, model=model)
            base = {"name": g.name, "class": f"G0S{int(g.Sigma_0 >= s0_med)}"}
            tdyn, gbar = t_dyn_s(r, v_bar), g_bar_si(r, v_bar)
            v_mond = mond_velocity(r, v_bar, "simple", distinct=mode.mond_nu_variants == "distinct")
            for k in kernels:
                core = w_accel(gbar, 0.0, alpha) if k == "w_g" else w_time(tdyn, t_ref_s, alpha)
                with np.errstate(invalid="ignore"):
                    w = core * c_n * n_raw(r) * xi * zeta
                v = np.sqrt(np.maximum(w, 0.0)) * v_bar
                recs[k].append({**base, **_pg_metrics(vo, v, sig, "ilg")})
                pts[k].append(pd.DataFrame({
                    "galaxy": g.name, "r_kpc": r, "v_obs": vo, "e_v": ev, "sigma": sig, "v_baryon": v_bar, "w": w,
                    "v_model": v, "v_newton": v_bar, "v_mond": v_mond, "evaluated": True, "excluded_because": "",
                }))  # fmt: skip
            recs["mond"].append({**base, **_pg_metrics(vo, v_mond, sig, "mond")})
        per_cohort[cohort] = {k: pd.DataFrame(v) for k, v in recs.items()}
        pts_by_cohort[cohort] = pts
    chosen: dict[str, str] = {}
    rows, class_summary = [], {}
    for cohort in cohorts:
        if mode.select_kernel_by_chi2 and variant == "head":
            chosen[cohort] = min(kernels, key=lambda k: float(per_cohort[cohort][k]["chi2N"].median()))
        else:
            chosen[cohort] = "w_g" if variant == "no_parameters" else anchor_kernel
        df = per_cohort[cohort][chosen[cohort]]
        rows.append({
            "cohort": cohort, "kernel": chosen[cohort], "N_ilg": len(df),
            "median_chi2N_ilg": df["chi2N"].median(), "mean_chi2N_ilg": df["chi2N"].mean(),
            "median_huber_ilg": df["huber_ilg"].median(), "median_medabs_ilg": df["medabs_ilg"].median(),
            "median_chi2N_mond": per_cohort[cohort]["mond"]["chi2N"].median(),
            "mean_chi2N_mond": per_cohort[cohort]["mond"]["chi2N"].mean(),
        })  # fmt: skip
        cs = df.groupby("class", sort=True).agg(
            N=("chi2N", "size"), median_chi2N_ilg=("chi2N", "median"), median_huber_ilg=("huber_ilg", "median"),
            median_medabs_ilg=("medabs_ilg", "median"),
        ).reset_index()
        cs["cohort"] = cohort
        class_summary[cohort] = cs
    q1 = chosen["Q1"]
    cols_rs = ["name", "N", "chi2", "chi2N", "huber_ilg", "medabs_ilg"]
    cols_mond = ["name", "N", "chi2", "chi2N", "huber_mond", "medabs_mond"]
    return PureGlobalResult(
        bench_rs=per_cohort["Q1"][q1][cols_rs].copy(),
        bench_mond=per_cohort["Q1"]["mond"][cols_mond].copy(),
        per_cohort=per_cohort,
        class_summary=class_summary,
        global_summary=pd.DataFrame(rows),
        globals={"xi_edges": [float(x) for x in edges], "c_n": c_n, "T_ref_s": t_ref_s, "Sigma0_median": s0_med,
                 "alpha": alpha, "kernel": chosen},  # fmt: skip
        points=_points_frame(pts_by_cohort["Q1"][q1]),
    )


def _pg_metrics(v_obs: np.ndarray, v: np.ndarray, sig: np.ndarray, tag: str) -> dict[str, float]:
    z = (v_obs - v) / sig
    chi2 = float(np.sum(z * z))
    return {"N": int(z.size), "chi2": chi2, "chi2N": chi2 / z.size, f"huber_{tag}": huber_mean(z),
            f"medabs_{tag}": float(np.median(np.abs(z)))}  # fmt: skip


def run_kernels(
    master: Master,
    mode: ModeConfig,
    kernels: Sequence[Kernel1D] = ("time", "accel", "blend", "graph"),
    config: Bench1DConfig = Bench1DConfig(),
    names: Sequence[str] | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The 1D benchmark for several kernels on one population.

    Returns (per galaxy and kernel: :func:`baseline_table` columns plus ``kernel``; the kept points of every
    kernel with a ``kernel`` column; the skipped galaxies with a ``kernel`` column).
    """
    tables, points, skipped = [], [], []
    for kernel in kernels:
        res = run_bench1d(master, mode, replace(config, kernel=kernel), names, progress)
        tables.append(baseline_table(res.points).assign(kernel=kernel))
        points.append(res.points.assign(kernel=kernel))
        skipped.append(res.skipped.assign(kernel=kernel))
    return pd.concat(tables, ignore_index=True), pd.concat(points, ignore_index=True), pd.concat(skipped, ignore_index=True)
