"""1D benchmarks against the original's reference results (compat) and corrected-mode invariants."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import scipy.optimize
import scipy.special

from rs_ilg.bench1d import (
    Bench1DConfig, baseline_table, huber_mean, n_scale_analytic, run_bench1d, run_mond, run_pure_global,
)  # fmt: skip
from rs_ilg.constants import A0_SI, ALPHA
from rs_ilg.kernels1d import g_bar_si, mond_nu, mond_velocity, w_graph
from rs_ilg.master import baryonic_velocity, subset_names
from rs_ilg.modes import ModeConfig
from rs_ilg.report import summarise_runs, summary_stats

RTOL = 1e-6
COMPAT = ModeConfig.compat()

# reference file -> (kernel, extra config); all on the 156 list
ILG_CASES = {
    "ilg_rotation_benchmark_time_q1.csv": ("time", {}),
    "ilg_rotation_benchmark_accel_q1.csv": ("accel", {}),
    "ilg_recheck_q1.csv": ("accel", {}),
    "ilg_rotation_benchmark_blend_q1_model.csv": ("blend", {}),
    "ilg_rotation_benchmark_blend_q1_zetaoff.csv": ("blend", {"zeta_off": True}),  # ignored, as in the original
    "ilg_rotation_benchmark_blend_q1_gext005.csv": ("blend", {"gext_ratio": 0.05}),
    "ilg_rotation_benchmark_graph_q1_ml08.csv": ("graph", {"ml_disk": 0.8}),
    "ilg_rotation_benchmark_graph_q1_ml08_tau025_sig05.csv": ("graph", {"ml_disk": 0.8, "graph_tau": 0.25,
                                                                       "graph_sigma_kpc": 0.5}),
    "ilg_rotation_benchmark_graph_q1_ml08_tau10_sigrel05_norm.csv": ("graph", {"ml_disk": 0.8, "graph_sigma_rel": 0.5,
                                                                              "graph_norm": True}),
    "ilg_rotation_benchmark_graph_q1_ml10_tau10_sig20.csv": ("graph", {"ml_disk": 1.0}),
    "ilg_rotation_benchmark_graph_q1_ml12_tau10_sig20.csv": ("graph", {"ml_disk": 1.2}),
    "ilg_rotation_benchmark_graph_q1_ml08_tau10_sig20_gext002.csv": ("graph", {"ml_disk": 0.8, "gext_ratio": 0.02}),
    "ilg_rotation_benchmark_graph_q1_ml08_tau10_sig20_gext005.csv": ("graph", {"ml_disk": 0.8, "gext_ratio": 0.05}),
}  # fmt: skip


def assert_matches(got: pd.DataFrame, ref: pd.DataFrame, key: str = "galaxy", col: str = "chi2_over_N",
                   ref_col: str | None = None, rtol: float = RTOL) -> None:  # fmt: skip
    ref_col = ref_col or col
    assert got[key].tolist() == ref[key].tolist()
    np.testing.assert_array_equal(got["N"].to_numpy(), ref["N"].to_numpy())
    np.testing.assert_allclose(got[col].to_numpy(float), ref[ref_col].to_numpy(float), rtol=rtol, atol=0)


@pytest.mark.parametrize("fname", sorted(ILG_CASES))
def test_ilg_1d_reproduces_reference(fname, master_compat, names156, reference_dir):
    kernel, extra = ILG_CASES[fname]
    res = run_bench1d(master_compat, COMPAT, Bench1DConfig(kernel=kernel, **extra), names156, progress=False)
    assert_matches(res.per_galaxy, pd.read_csv(reference_dir / "rotation_benchmark_1d" / fname))
    assert res.skipped.empty


def test_population_globals_match_reference(master_compat, names156, reference_dir):
    import json

    res = run_bench1d(master_compat, COMPAT, Bench1DConfig(kernel="time"), names156, progress=False)
    thr = json.loads((reference_dir / "rotation_benchmark_1d" / "xi_thresholds_q1.json").read_text())["thresholds"]
    np.testing.assert_allclose(res.globals["xi_thresholds"], thr, rtol=1e-12)
    assert abs(res.globals["n_scale"] - 0.43914) < 1e-5 and abs(res.globals["T_ref_s"] / 1.4313e16 - 1) < 1e-4


def test_mond_reproduces_reference(master_compat, names156, reference_dir):
    res = run_mond(master_compat, COMPAT, names156, progress=False)
    assert_matches(res.per_galaxy, pd.read_csv(reference_dir / "rotation_benchmark_1d" / "mond_rotation_benchmark_q1.csv"))
    for nu in ("standard", "fb"):  # all three nu choices are the simple nu in the original
        other = run_mond(master_compat, COMPAT, names156, nu=nu, progress=False)
        np.testing.assert_array_equal(other.per_galaxy["chi2_over_N"], res.per_galaxy["chi2_over_N"])


def test_newtonian_baseline_matches_spec(master_compat, names156):
    res = run_bench1d(master_compat, COMPAT, Bench1DConfig(kernel="time"), names156, progress=False)
    st = summary_stats(baseline_table(res.points))
    # spec section 11, "more baselines": Newtonian over all points of the 156: median 3.912, mean 4.392
    assert round(st.loc["median", "chi2_over_N_newton"], 3) == 3.912
    assert round(st.loc["mean", "chi2_over_N_newton"], 3) == 4.392
    assert round(st.loc["median", "chi2_over_N"], 4) == 4.0127


@pytest.mark.parametrize(("folder", "variant"), [("pure_global_eval", "head"), ("pure_global_eval_no_parameters", "no_parameters")])
def test_pure_global_reproduces_reference(master_compat, reference_dir, folder, variant):
    res = run_pure_global(master_compat, COMPAT, variant=variant, progress=False)
    d = reference_dir / folder
    ref_rs = pd.read_csv(d / "bench_rs_per_galaxy.csv")
    ref_mond = pd.read_csv(d / "bench_mond_per_galaxy.csv")
    for got, ref, tag in ((res.bench_rs, ref_rs, "ilg"), (res.bench_mond, ref_mond, "mond")):
        for col in ("chi2N", "chi2", f"huber_{tag}", f"medabs_{tag}"):
            assert_matches(got, ref, key="name", col=col)
    summ = pd.read_csv(d / "bench_global_summary.csv").set_index("cohort")
    mine = res.global_summary.set_index("cohort")
    for cohort in ("Q1", "FULL"):
        assert mine.loc[cohort, "kernel"] == summ.loc[cohort, "kernel"]
        assert mine.loc[cohort, "N_ilg"] == summ.loc[cohort, "N_ilg"]
        for col in ("median_chi2N_ilg", "mean_chi2N_ilg", "median_huber_ilg", "median_medabs_ilg"):
            assert abs(mine.loc[cohort, col] / summ.loc[cohort, col] - 1) < RTOL
    if variant == "head":
        for cohort in ("Q1", "FULL"):
            ref_cs = pd.read_csv(d / f"class_summary_{cohort}.csv")
            got_cs = res.class_summary[cohort]
            assert got_cs["class"].tolist() == ref_cs["class"].tolist()
            np.testing.assert_array_equal(got_cs["N"], ref_cs["N"])
            np.testing.assert_allclose(got_cs["median_chi2N_ilg"], ref_cs["median_chi2N_ilg"], rtol=RTOL)
        assert abs(res.globals["c_n"] - 0.32077) < 1e-5 and abs(res.globals["T_ref_s"] / 1.6415e16 - 1) < 1e-4
        np.testing.assert_allclose(res.globals["xi_edges"], [0.05261, 0.13046, 0.25110, 0.38648], atol=1e-5)


# ------------------------------------------------------------------------------------------------ peers


def test_graph_power_matches_scipy():
    rng = np.random.default_rng(1)
    r = np.sort(rng.uniform(0.2, 12.0, 15))
    q = rng.normal(0, 0.3, 15)
    from rs_ilg.kernels1d import graph_laplacian

    M = np.eye(15) + 0.7 * graph_laplacian(r, 1.5)
    want = 1.0 + (1.0 / ((1 + 5**0.5) / 2) ** 5) * np.real(scipy.linalg.fractional_matrix_power(M, -ALPHA)) @ q
    np.testing.assert_allclose(w_graph(r, q, 0.7, 1.5), want, rtol=1e-10)


@pytest.mark.parametrize(("variant", "mu"), [("simple", lambda x: x / (1 + x)), ("standard", lambda x: x / np.sqrt(1 + x * x))])
def test_mond_nu_inverts_mu(variant, mu):
    # peer: solve mu(g/a0) g/a0 = y numerically with scipy and compare g/g_N with nu(y)
    for y in (1e-3, 0.05, 0.7, 3.0, 40.0):
        x = scipy.optimize.brentq(lambda x: mu(x) * x - y, 1e-12, 1e6, xtol=1e-14, rtol=1e-14)
        assert abs(mond_nu(np.array(y), variant, distinct=True) - x / y) < 1e-9 * (x / y)


def test_huber_matches_scipy():
    z = np.linspace(-5, 5, 101)
    assert abs(huber_mean(z) - float(np.mean(scipy.special.huber(1.345, z)))) < 1e-14


# ------------------------------------------------------------------------------------------------ corrected


def test_compat_ignores_and_corrected_honours_zeta_off(master_compat, names156):
    cfg = Bench1DConfig(kernel="blend", zeta_off=True)
    fixed = dataclasses.replace(COMPAT, forward_zeta_off=True)
    a = run_bench1d(master_compat, fixed, cfg, names156, progress=False).per_galaxy
    b = run_bench1d(master_compat, dataclasses.replace(COMPAT, zeta_form="off"), Bench1DConfig(kernel="blend"),
                    names156, progress=False).per_galaxy  # fmt: skip
    c = run_bench1d(master_compat, COMPAT, Bench1DConfig(kernel="blend"), names156, progress=False).per_galaxy
    np.testing.assert_array_equal(a["chi2_over_N"], b["chi2_over_N"])
    assert not np.allclose(a["chi2_over_N"], c["chi2_over_N"])


def test_corrected_forwards_graph_options(master_corrected):
    mode = ModeConfig.corrected()
    names = subset_names(master_corrected, mode)[:20]
    a = run_bench1d(master_corrected, mode, Bench1DConfig(kernel="graph"), names, progress=False).per_galaxy
    b = run_bench1d(master_corrected, mode, Bench1DConfig(kernel="graph", graph_tau=4.0, graph_sigma_kpc=0.5),
                    names, progress=False).per_galaxy  # fmt: skip
    assert not np.allclose(a["chi2_over_N"], b["chi2_over_N"])


def test_corrected_mode_baselines_on_same_points(master_corrected, master_compat, names156):
    mode = ModeConfig.corrected()
    names = subset_names(master_corrected, mode)
    res = run_bench1d(master_corrected, mode, Bench1DConfig(kernel="time"), names, progress=False)
    assert len(res.per_galaxy) == len(names) and all(master_corrected[n].q_flag == 1 for n in names)
    table = baseline_table(res.points)
    pd.testing.assert_series_equal(table["chi2_over_N"], res.per_galaxy["chi2_over_N"], check_names=False)
    # Newtonian and MOND recomputed independently on the evaluated points of each galaxy
    for name in ("NGC3198", "DDO064", "DDO161"):
        g = master_corrected[name]
        row = res.per_galaxy.set_index("galaxy").loc[name]
        pts = res.points[(res.points["galaxy"] == name) & res.points["evaluated"]]
        v_bar = baryonic_velocity(g, mode)[g.r_kpc >= row["b_kpc"]]
        np.testing.assert_allclose(pts["v_newton"], v_bar, rtol=1e-14)
        y = g_bar_si(pts["r_kpc"].to_numpy(), v_bar) / A0_SI
        v_mond = np.sqrt(0.5 + np.sqrt(0.25 + 1 / y)) * v_bar
        want = np.mean(((pts["v_obs"] - v_mond) / pts["sigma"]) ** 2)
        assert abs(table.set_index("galaxy").loc[name, "chi2_over_N_mond"] - want) < 1e-12 * want
    # signed V^2: galaxies with negative V_gas see a smaller v_bar than in compat
    g_c, g_k = master_compat["NGC3198"], master_corrected["NGC3198"]
    assert np.any(baryonic_velocity(g_k, mode) < baryonic_velocity(g_c, COMPAT) - 1e-9)
    runs = {"compat/time": run_bench1d(master_compat, COMPAT, Bench1DConfig(), names156, progress=False),
            "corrected/time": res}  # fmt: skip
    cmp = summarise_runs(pd.concat([baseline_table(r.points).assign(run=k) for k, r in runs.items()]),
                         by=("run",)).set_index("run")
    assert cmp.loc["compat/time", "n_galaxies"] == 156 and cmp.loc["corrected/time", "n_galaxies"] == len(names)
    assert np.isfinite(cmp.to_numpy(float)).all()


def test_analytic_normalisation_is_sampling_independent(master_compat):
    gals = list(master_compat.values())
    a = n_scale_analytic(gals)
    b = n_scale_analytic(gals, n_grid=6000)
    assert abs(a / b - 1) < 1e-5


def test_mond_velocity_limits():
    r = np.array([0.1, 10.0, 1e4])
    v = np.array([300.0, 100.0, 1.0])
    vm = mond_velocity(r, v)
    assert np.all(vm >= v)
    assert abs(vm[0] / v[0] - 1) < 0.005  # Newtonian regime (g >> a0)
    g = g_bar_si(r[2:], v[2:])
    # deep MOND (g << a0): v^2 = sqrt(g_N a0) r
    assert abs((vm[2] * 1e3) ** 2 / (np.sqrt(g[0] * A0_SI) * r[2] * 3.086e19) - 1) < 1e-3


def test_mond_recheck_all_175(master_compat, reference_dir):
    res = run_mond(master_compat, COMPAT, None, progress=False)
    assert_matches(res.per_galaxy, pd.read_csv(reference_dir / "rotation_benchmark_1d" / "mond_recheck.csv"))


def test_mond_at_the_limit_of_its_interpolating_function_drops_no_point(master_corrected):
    """Issue 12: UGC01281 has signed V_bar^2 <= 0 at r = 0.08 and 0.23 kpc; the standard nu used to give
    v_MOND = NaN there and silently score 23 of 25 points. v_MOND -> 0 is the limit (g_bar -> 0)."""
    mode = ModeConfig.corrected()
    g = master_corrected["UGC01281"]
    v_bar = baryonic_velocity(g, mode)
    assert g.n_points == 25 and np.count_nonzero(v_bar == 0) >= 2
    for nu in ("simple", "standard", "fb"):
        res = run_mond(master_corrected, mode, ["UGC01281"], nu=nu, beam_kpc={"UGC01281": 0.05}, progress=False)
        assert int(res.per_galaxy["N"].iloc[0]) == 25, nu
        assert np.isfinite(res.points["v_model"]).all() and (res.points.loc[v_bar == 0, "v_model"] == 0).all()
        assert (res.points["excluded_because"] == "").all()
    y = np.array([0.0, 1e-320, 1e-200, 1e-3, 1.0, 1e3, 1e200])
    for variant in ("simple", "standard"):
        nu = mond_nu(y, variant, distinct=True)
        assert np.isfinite(nu).all() and (np.diff(nu) <= 0).all() and nu[-1] == pytest.approx(1.0)
    # the standard nu against its closed form where the naive formula does not overflow
    yy = np.array([1e-3, 0.5, 2.0, 50.0])
    np.testing.assert_allclose(mond_nu(yy, "standard", distinct=True), np.sqrt(0.5 + np.sqrt(0.25 + yy**-2.0)), rtol=1e-14)


def test_points_outside_the_scored_set_say_why(master_compat, names156):
    res = run_bench1d(master_compat, COMPAT, Bench1DConfig(), names156[:5], progress=False)
    pts = res.points
    assert set(pts.loc[~pts["evaluated"], "excluded_because"]) == {"inside the inner mask (r < b)"}
    assert (pts.loc[pts["evaluated"], "excluded_because"] == "").all()
