"""Plot helpers return Figures with the expected axes, lines and labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from rs_ilg import plots
from rs_ilg.atomicio import write_png


def _curve():
    r = np.linspace(0.5, 10, 12)
    v_bar = 80 * np.sqrt(r / (r + 2))
    return r, v_bar * 1.2, np.full(r.size, 5.0), v_bar


def _labels(ax):
    """Legend texts of ``ax``, or of its figure's legend when the legend sits outside the axes."""
    leg = ax.get_legend() or ax.figure.legends[0]
    return [t.get_text() for t in leg.get_texts()]


def test_rotation_curve_figure_lines_and_labels(tmp_path):
    r, v_obs, e_v, v_bar = _curve()
    models = {"ILG": v_bar * 1.05, "Newtonian (K=1)": v_bar, "MOND": v_bar * 1.15}
    ev = r >= 1.0
    fig = plots.rotation_curve_figure(r, v_obs, e_v, models, title="G", evaluated=ev)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    model_lines = [ln for ln in ax.get_lines() if ln.get_label() in models]
    assert [ln.get_label() for ln in model_lines] == list(models)
    np.testing.assert_allclose(model_lines[1].get_ydata(), v_bar)
    assert len(ax.containers) == 2  # scored and unscored error bars
    assert _labels(ax) == ["ILG", "Newtonian (K=1)", "MOND", "observed (scored)", "observed (not scored)"]
    assert ax.get_xlabel() == "r [kpc]" and ax.get_title() == "G"
    assert write_png(tmp_path / "rc.png", fig).read_bytes()[:4] == b"\x89PNG"


def test_rotation_curves_grid():
    r, v_obs, e_v, v_bar = _curve()
    pts = pd.concat([pd.DataFrame({"galaxy": g, "r_kpc": r, "v_obs": v_obs, "e_v": e_v, "v_baryon": v_bar,
                                   "v_model": v_bar * 1.1, "v_mond": v_bar * 1.2}) for g in ("A", "B", "C")])  # fmt: skip
    fig = plots.rotation_curves_grid(pts, ncols=2)
    assert len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["A", "B", "C"]
    for ax in fig.axes:
        assert len(ax.get_lines()) >= 3
    assert _labels(fig.axes[0])[:3] == ["ILG", "Newtonian (K=1)", "MOND"]
    with pytest.raises(KeyError):
        plots.rotation_curves_grid(pts, ["Z"])


def test_chi2_distribution_figure():
    rng = np.random.default_rng(0)
    runs = {"ILG": rng.lognormal(1, 0.5, 50), "Newtonian (K=1)": rng.lognormal(1.1, 0.5, 50),
            "MOND": np.append(rng.lognormal(0.5, 0.5, 49), np.nan)}  # fmt: skip
    fig = plots.chi2_distribution_figure(runs, bins=10, title="chi2")
    ax_h, ax_c = fig.axes
    labels = _labels(ax_h)
    assert len(labels) == 3 and labels[0].startswith("ILG (n=50, median=") and "1 dropped" in labels[2]
    assert len(ax_h.patches) == 3  # one step histogram per run
    assert len(ax_c.get_lines()) == 3 and ax_c.get_xscale() == "log"
    med_lines = [ln for ln in ax_h.get_lines()]
    assert len(med_lines) == 3
    assert med_lines[0].get_xdata()[0] == pytest.approx(np.log10(np.median(runs["ILG"])))
    with pytest.raises(ValueError):
        plots.chi2_distribution_figure({})


def test_trend_figure_and_quicklook():
    by_xi = pd.DataFrame({"xi_bin": range(5), **{f"median_abs_resid_{t}": np.arange(5.0) for t in ("model", "newton", "mond")}})
    by_r = pd.DataFrame({"r_bin": ["[0.3,1)", "[1,2)", "[2,3)", ">=3"],
                         **{f"median_abs_resid_{t}": np.arange(4.0) for t in ("model", "newton", "mond")}})  # fmt: skip
    fig = plots.trend_figure(by_xi, by_r)
    assert [len(ax.get_lines()) for ax in fig.axes] == [3, 3]
    assert _labels(fig.axes[0]) == ["ILG", "Newtonian (K=1)", "MOND"]
    q = plots.pilot_quicklook(np.ones((8, 8)), np.zeros((8, 8)), "G", placeholder=True)
    assert sum(len(ax.images) for ax in q.axes) == 2 and "PLACEHOLDER" in q._suptitle.get_text()


def test_runs_chi2_figure_shows_the_headline_1d_run_and_keeps_legends_off_the_data():
    rng = np.random.default_rng(1)
    rows = []
    for mode in ("compat", "corrected"):
        for run, scale in (("1d_time", 2.0), ("1d_accel", 1.0), ("3d", 1.5)):
            rows.append(pd.DataFrame({"mode": mode, "run": run, "galaxy": [f"G{i}" for i in range(20)], "N": 10,
                                      "chi2_over_N": rng.lognormal(scale, 0.3, 20),
                                      "chi2_over_N_newton": rng.lognormal(2.5, 0.3, 20),
                                      "chi2_over_N_mond": rng.lognormal(0.5, 0.3, 20)}))  # fmt: skip
    fig = plots.runs_chi2_figure(pd.concat(rows, ignore_index=True))
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(lb.startswith("compat: ILG accel kernel (1D)") for lb in labels)  # the best 1D kernel
    assert len(labels) == 8 and all(ax.get_legend() is None for ax in fig.axes)


def test_ablation_figure_shows_changes_against_the_baseline():
    table = pd.DataFrame({
        "mode": ["compat"] * 3, "variant": ["baseline", "const_sigma", "d_to_i"],
        "rel_change_median_vs_baseline": [0.0, 2.5, 7e-4],
    })  # fmt: skip
    fig = plots.ablation_figure(table)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["constant σ = 10 km/s", "diffusion D → identity"]
    assert ax.get_xscale() == "symlog"
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == pytest.approx([0.07, 250.0])  # percent; the tiny change stays visible on the symlog axis


def test_rotation_curve_panels_span_the_sample():
    pts = pd.DataFrame({"galaxy": [f"G{i:02d}" for i in range(30)], "r_kpc": 1.0, "v_obs": np.arange(30.0)[::-1],
                        "e_v": 1.0, "v_baryon": 1.0, "v_model": 1.0})  # fmt: skip
    assert plots.spanning_galaxies(pts, 4) == ["G29", "G19", "G10", "G00"]  # slowest to fastest rotator
    fig = plots.rotation_curves_grid(pts, max_panels=4)
    assert "4 of 30 galaxies at evenly spaced ranks of max V_obs" in fig._suptitle.get_text()
