"""Plotting helpers: functions that return matplotlib ``Figure`` objects (Agg canvas, no pyplot state),
ready for a caller to save (``rs_ilg.atomicio.write_png``) or log.

- :func:`rotation_curve_figure`: one galaxy's observed curve with the model and the Newtonian (K = 1) and
  MOND baselines; points outside the scored set drawn hollow.
- :func:`rotation_curves_grid`: the same for several galaxies on a grid of panels.
- :func:`chi2_distribution_figure`: distributions (histogram of log10 chi2/N and empirical CDF) of several
  runs or models, with their medians.
- :func:`trend_figure`: median |resid| by xi bin and by r/R_d bin (from :mod:`rs_ilg.trends`).
- :func:`pilot_quicklook`: the imaging pilot's log1p(image) | trace(S) panels.

Velocities in km/s, radii in kpc.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "BASELINE_STYLES",
    "rotation_curve_figure",
    "rotation_curves_grid",
    "chi2_distribution_figure",
    "trend_figure",
    "pilot_quicklook",
    "runs_chi2_figure",
    "ablation_figure",
    "spanning_galaxies",
]

#: Line styles of the model curves, by label: ILG drawn last and on top, the baselines thinner and dashed, so
#: every model stays visible where the curves coincide.
BASELINE_STYLES: dict[str, dict] = {
    "ILG": {"color": "C0", "lw": 2.2, "ls": "-", "zorder": 4},
    "Newtonian (K=1)": {"color": "C2", "lw": 1.3, "ls": (0, (5, 2)), "zorder": 3},
    "MOND": {"color": "C3", "lw": 1.3, "ls": (0, (1, 1.5)), "zorder": 3},
}
#: Readable names of the ablation variants (spec §10), for figure labels.
VARIANT_LABELS: dict[str, str] = {
    "baseline": "baseline", "d_to_i": "diffusion D → identity", "gext0": "no external field",
    "const_sigma": "constant σ = 10 km/s", "no_inner_mask": "no inner mask (b = 0)", "k1_null": "K = 1 (Newtonian)",
    "permute_features": "features of another galaxy",
}  # fmt: skip


def _figure(**kw) -> Figure:
    fig = Figure(**kw)
    FigureCanvasAgg(fig)
    return fig


def _draw_curve(ax: Axes, r: np.ndarray, v_obs: np.ndarray, e_v: np.ndarray, models: Mapping[str, np.ndarray],
                evaluated: np.ndarray | None, title: str, legend: bool) -> None:
    r = np.asarray(r, float)
    ev = np.ones(r.size, bool) if evaluated is None else np.asarray(evaluated, bool)
    ax.errorbar(r[ev], np.asarray(v_obs)[ev], yerr=np.asarray(e_v)[ev], fmt="o", ms=4, color="k",
                label="observed (scored)")  # fmt: skip
    if (~ev).any():
        ax.errorbar(r[~ev], np.asarray(v_obs)[~ev], yerr=np.asarray(e_v)[~ev], fmt="o", ms=4, mfc="none",
                    color="0.5", label="observed (not scored)")  # fmt: skip
    for i, (label, v) in enumerate(models.items()):
        style = BASELINE_STYLES.get(label, {"color": f"C{(i + 4) % 10}", "lw": 1.5})
        ax.plot(r, np.asarray(v, float), label=label, **style)
    ax.set_xlabel("r [kpc]")
    ax.set_ylabel("v [km/s]")
    ax.set_title(title)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    if legend:
        ax.legend(fontsize="small")


def rotation_curve_figure(
    r_kpc: np.ndarray, v_obs: np.ndarray, e_v: np.ndarray, models: Mapping[str, np.ndarray], *,
    title: str = "", evaluated: np.ndarray | None = None,
) -> Figure:
    """One rotation curve: observed points with error bars (hollow where ``evaluated`` is False) and one
    line per entry of ``models`` (label -> v [km/s] at ``r_kpc``; e.g. ``{"ILG": v_model,
    "Newtonian (K=1)": v_bar, "MOND": v_mond}``)."""
    fig = _figure(figsize=(6, 4.5), layout="constrained")
    _draw_curve(fig.add_subplot(), r_kpc, v_obs, e_v, models, evaluated, title, legend=True)
    return fig


def spanning_galaxies(points: pd.DataFrame, n: int) -> list[str]:
    """``n`` galaxies spanning the sample: sorted by their largest V_obs, the ones at evenly spaced ranks
    (slowest and fastest rotator included), in that order."""
    vmax = points.groupby("galaxy", sort=False)["v_obs"].max().sort_values(kind="stable")
    if len(vmax) <= n:
        return list(vmax.index)
    idx = np.unique(np.round(np.linspace(0, len(vmax) - 1, n)).astype(int))
    return [str(vmax.index[i]) for i in idx]


def rotation_curves_grid(
    points: pd.DataFrame, galaxies: Sequence[str] | None = None, *, ncols: int = 4,
    model_columns: Mapping[str, str] | None = None, max_panels: int = 12, title: str = "",
) -> Figure:
    """Rotation curves of several galaxies from a points frame (columns galaxy, r_kpc, v_obs, v_err or e_v,
    and the model columns; ``evaluated`` optional). ``model_columns`` maps labels to columns, default
    ILG = v_model, Newtonian (K=1) = v_baryon, MOND = v_mond (columns absent are left out). Without
    ``galaxies``, :func:`spanning_galaxies` picks ``max_panels`` of them (the rule is stated in the title)."""
    mc = dict(model_columns or {"ILG": "v_model", "Newtonian (K=1)": "v_baryon", "MOND": "v_mond"})
    mc = {k: c for k, c in mc.items() if c in points.columns}
    rule = ""
    if galaxies is None:
        names = spanning_galaxies(points, max_panels)
        rule = f"{len(names)} of {points['galaxy'].nunique()} galaxies at evenly spaced ranks of max V_obs"
    else:
        names = list(galaxies)[:max_panels]
    if not names:
        raise ValueError("rotation_curves_grid: no galaxies to plot")
    nrows = -(-len(names) // ncols)
    fig = _figure(figsize=(3.2 * min(ncols, len(names)), 2.6 * nrows), layout="constrained")
    err = "v_err" if "v_err" in points.columns else "e_v"
    for i, name in enumerate(names):
        df = points[points["galaxy"] == name].sort_values("r_kpc")
        if df.empty:
            raise KeyError(f"rotation_curves_grid: galaxy {name!r} not in the points frame")
        ax = fig.add_subplot(nrows, min(ncols, len(names)), i + 1)
        ev = df["evaluated"].to_numpy(bool) if "evaluated" in df.columns else None
        _draw_curve(ax, df["r_kpc"].to_numpy(), df["v_obs"].to_numpy(), df[err].to_numpy(),
                    {k: df[c].to_numpy() for k, c in mc.items()}, ev, name, legend=False)  # fmt: skip
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize="small")
    if title or rule:
        fig.suptitle("; ".join(t for t in (title, rule) if t))
    return fig


def chi2_distribution_figure(runs: Mapping[str, Sequence[float]], *, bins: int = 30, title: str = "") -> Figure:
    """Distributions of per-galaxy chi2/N of several runs/models (label -> values): left, histograms of
    log10 chi2/N with a dashed line at each median; right, empirical CDFs. Non-finite and non-positive
    values are dropped (their count goes in the legend)."""
    if not runs:
        raise ValueError("chi2_distribution_figure: no runs given")
    clean = {}
    for label, vals in runs.items():
        v = np.asarray(vals, float)
        ok = np.isfinite(v) & (v > 0)
        clean[label] = (v[ok], int((~ok).sum()))
    allv = np.concatenate([v for v, _ in clean.values()])
    if allv.size == 0:
        raise ValueError("chi2_distribution_figure: no finite positive chi2/N values")
    edges = np.linspace(np.log10(allv.min()), np.log10(allv.max()) + 1e-9, bins + 1)
    fig = _figure(figsize=(11, 4.2), layout="constrained")
    ax_h, ax_c = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for i, (label, (v, dropped)) in enumerate(clean.items()):
        color = f"C{i % 10}"
        med = float(np.median(v)) if v.size else np.nan
        extra = f", {dropped} dropped" if dropped else ""
        ax_h.hist(np.log10(v), bins=edges, histtype="step", lw=1.5, color=color,
                  label=f"{label} (n={v.size}, median={med:.3g}{extra})")  # fmt: skip
        if v.size:
            ax_h.axvline(np.log10(med), color=color, ls="--", lw=1)
            xs = np.sort(v)
            ax_c.step(xs, np.arange(1, xs.size + 1) / xs.size, where="post", color=color, label=label)
    ax_h.set_xlabel("log10 chi2/N")
    ax_h.set_ylabel("galaxies")
    ax_c.set_xscale("log")
    ax_c.set_xlabel("chi2/N")
    ax_c.set_ylabel("fraction of galaxies <= x")
    fig.legend(*ax_h.get_legend_handles_labels(), loc="outside lower center", ncols=min(len(clean), 3),
               fontsize="small")  # fmt: skip
    if title:
        fig.suptitle(title)
    return fig


def runs_chi2_figure(table: pd.DataFrame, headline_1d: Mapping[str, str] | None = None) -> Figure:
    """chi2/N distributions of a run table (:func:`rs_ilg.report.collect_runs` rows of several modes): per
    mode the 3D ILG run, the headline 1D ILG run (``headline_1d``: mode -> run, default the 1D kernel with
    the lowest median, :func:`rs_ilg.report.best_1d_runs`), and Newtonian and MOND on the 3D run's points."""
    from .report import best_1d_runs, summarise_runs

    head = dict(headline_1d or best_1d_runs(summarise_runs(table)))
    runs: dict[str, pd.Series] = {}
    for mode, df in table.groupby("mode", sort=False):
        d3 = df[df["run"] == "3d"]
        if mode in head:
            runs[f"{mode}: ILG {head[mode].removeprefix('1d_')} kernel (1D)"] = df[df["run"] == head[mode]]["chi2_over_N"]
        runs[f"{mode}: ILG 3D"] = d3["chi2_over_N"]
        runs[f"{mode}: Newtonian (3D points)"] = d3["chi2_over_N_newton"]
        runs[f"{mode}: MOND (3D points)"] = d3["chi2_over_N_mond"]
    return chi2_distribution_figure(runs, title="chi2/N per galaxy; each baseline on its run's points")


def ablation_figure(table: pd.DataFrame, baseline: str = "baseline") -> Figure:
    """Each ablation variant's change of the median ILG chi2/N against ``baseline``, in percent, per mode
    (rows of :func:`rs_ilg.report.ablation_table`), on a symmetric-log axis so that both the switches that
    barely act and the ones that dominate stay readable; the value is written beside each bar."""
    fig = _figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.add_subplot()
    modes = list(dict.fromkeys(table["mode"]))
    variants = [v for v in dict.fromkeys(table["variant"]) if v != baseline]
    height = 0.8 / max(len(modes), 1)
    for i, mode in enumerate(modes):
        sub = table[table["mode"] == mode].set_index("variant").reindex(variants)
        pct = 100.0 * sub["rel_change_median_vs_baseline"].to_numpy(float)
        y = np.arange(len(variants)) + i * height
        ax.barh(y, pct, height, label=f"{mode} mode", color=f"C{i}")
        for yy, v in zip(y, pct):
            ax.annotate(f"{v:+.3g} %", (v, yy), xytext=(4 if v >= 0 else -4, 0), textcoords="offset points",
                        ha="left" if v >= 0 else "right", va="center", fontsize="small")  # fmt: skip
    ax.set_xscale("symlog", linthresh=0.1)
    ax.axvline(0.0, color="k", lw=0.8)
    ax.set_yticks(np.arange(len(variants)) + 0.4 - height / 2, [VARIANT_LABELS.get(v, v) for v in variants])
    ax.invert_yaxis()
    ax.set_xlabel("change of the median ILG chi2/N against the baseline [%] (symmetric log scale)")
    ax.set_title("3D ILG kernel ablations (spec §10)")
    ax.legend(loc="lower right", fontsize="small")
    return fig


def trend_figure(by_xi: pd.DataFrame, by_radius: pd.DataFrame, *, title: str = "") -> Figure:
    """Median |resid| by xi bin (left) and by r/R_d bin (right), one line per ``median_abs_resid_<model>``
    column of the :mod:`rs_ilg.trends` tables."""
    labels = {"model": "ILG", "newton": "Newtonian (K=1)", "mond": "MOND"}
    fig = _figure(figsize=(10, 4), layout="constrained")
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for col in [c for c in by_xi.columns if c.startswith("median_abs_resid_")]:
        tag = col.removeprefix("median_abs_resid_")
        style = {k: v for k, v in BASELINE_STYLES.get(labels.get(tag, tag), {}).items() if k in ("color", "ls")}
        ax1.plot(by_xi["xi_bin"], by_xi[col], marker="o", label=labels.get(tag, tag), **style)
        ax2.plot(np.arange(len(by_radius)), by_radius[col], marker="o", label=labels.get(tag, tag), **style)
    ax1.set_xlabel("xi bin")
    ax1.set_ylabel("median |resid|")
    ax1.set_xticks(list(by_xi["xi_bin"]))
    ax2.set_xticks(np.arange(len(by_radius)), list(by_radius["r_bin"]))
    ax2.set_xlabel("r / R_d")
    ax1.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def pilot_quicklook(image: np.ndarray, trace: np.ndarray, name: str, *, placeholder: bool = False,
                    tensor_on_log: bool = False) -> Figure:  # fmt: skip
    """The pilot quick-look: log1p(image) | trace of the structure tensor, with labelled colour bars (the
    trace is in kpc^-2 when the tensor is of ln image, else in (input unit/kpc)^2); the title says when the
    image is the built-in placeholder."""
    fig = _figure(figsize=(9, 4.2), layout="constrained")
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    im1 = ax1.imshow(np.log1p(np.maximum(np.asarray(image, float), 0.0)), origin="lower", cmap="magma")
    ax1.set_title("background-subtracted image")
    fig.colorbar(im1, ax=ax1, shrink=0.8, label="log(1 + Sigma_b) [input unit]")
    im2 = ax2.imshow(np.asarray(trace, float), origin="lower", cmap="viridis")
    ax2.set_title("trace of the structure tensor S")
    fig.colorbar(im2, ax=ax2, shrink=0.8,
                 label="trace(S) [kpc^-2]" if tensor_on_log else "trace(S) [(input unit / kpc)^2]")  # fmt: skip
    fig.suptitle(f"{name} (PLACEHOLDER image, not the galaxy)" if placeholder else name)
    return fig
