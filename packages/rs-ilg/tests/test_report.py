"""Summary tables: ILG beside Newtonian and MOND, checked against direct numpy on the same rows."""

import numpy as np
import pandas as pd
import pytest

from rs_ilg import ModeConfig, build_master, make_mock_galaxies, subset_names
from rs_ilg.bench1d import run_kernels
from rs_ilg.report import ablation_table, summarise_runs


def test_summarise_runs_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({
        "mode": ["compat"] * 6 + ["corrected"] * 4, "run": ["1d"] * 10, "N": rng.integers(5, 20, 10),
        "chi2_over_N": rng.gamma(2, 2, 10), "chi2_over_N_newton": rng.gamma(2, 2, 10), "chi2_over_N_mond": rng.gamma(2, 1, 10),
    })  # fmt: skip
    out = summarise_runs(df).set_index("mode")
    sub = df[df["mode"] == "compat"]
    assert out.loc["compat", "n_galaxies"] == 6 and out.loc["compat", "n_points"] == sub["N"].sum()
    assert out.loc["compat", "median_mond"] == pytest.approx(np.median(sub["chi2_over_N_mond"]))
    assert out.loc["corrected", "frac_ilg_beats_newton"] == pytest.approx(
        np.mean(df["chi2_over_N"][6:] < df["chi2_over_N_newton"][6:]))
    with pytest.raises(KeyError, match="chi2_over_N_mond"):
        summarise_runs(df.drop(columns="chi2_over_N_mond"))


def test_run_kernels_on_mock_population() -> None:
    rotmods, table = make_mock_galaxies(8, seed=2)
    mode = ModeConfig.corrected()
    master = build_master(rotmods, table, mode)
    names = subset_names(master, mode)
    galaxies, points, skipped = run_kernels(master, mode, ("time", "accel"), names=names, progress=False)
    assert set(galaxies["kernel"]) == {"time", "accel"}
    assert set(galaxies["galaxy"]) <= set(names)
    # the Newtonian column is the same for both kernels: same points, same baryons
    t = galaxies.pivot(index="galaxy", columns="kernel", values="chi2_over_N_newton")
    np.testing.assert_allclose(t["time"], t["accel"])
    assert len(points) >= galaxies["N"].sum()


def test_ablation_table_flags_switches_that_do_nothing() -> None:
    base = pd.DataFrame({"galaxy": list("abcd"), "N": [10, 12, 8, 9], "chi2_over_N": [1.0, 2.0, 3.0, 4.0],
                         "chi2_over_N_newton": [1.5, 2.5, 3.5, 4.5], "chi2_over_N_mond": [0.5, 1.0, 1.5, 2.0]})  # fmt: skip
    same = base.assign(variant="d_to_i")
    changed = base.assign(variant="const_sigma", chi2_over_N=[1.0, 2.0, 3.5, 4.0])
    df = pd.concat([base.assign(variant="baseline"), same, changed]).assign(mode="compat")
    out = ablation_table(df).set_index("variant")
    assert out.loc["d_to_i", "max_abs_delta_vs_baseline"] == 0.0
    assert out.loc["const_sigma", "max_abs_delta_vs_baseline"] == pytest.approx(0.5)
    assert out.loc["const_sigma", "delta_median_vs_baseline"] == pytest.approx(np.median([1, 2, 3.5, 4]) - 2.5)
    with pytest.raises(ValueError, match="baseline"):
        ablation_table(df[df["variant"] != "baseline"])
