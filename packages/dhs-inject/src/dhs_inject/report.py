"""Looking at a stamp store: a preview grid (injected / control / residual) and a per-split summary table."""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field

from dhs_inject.bands import BANDS
from dhs_inject.store import iter_store_batches, read_store

__all__ = ["PreviewConfig", "preview_figure", "summarize_store"]

_SUMMARY_COLUMNS = ["label", "pairing", "cutout_ok", "physics_valid", "arc_snr", "arc_peak_snr", "magnification",
                    "lens_theta_E", "bad_pixel_frac"]  # fmt: skip


class PreviewConfig(BaseModel):
    """Options of :func:`preview_figure`: ``n`` rows, drawn with ``seed`` from ``split`` (all if None)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int = Field(6, ge=1, le=64)
    seed: int = 0
    split: Literal["train", "val", "test"] | None = None


def summarize_store(path: str | os.PathLike) -> pd.DataFrame:
    """One row per split: counts (rows, injected, paired/unpaired controls, cutout_ok, physics_valid) and the
    median/10th/90th percentile of ``arc_snr``, ``magnification`` and ``lens_theta_E`` over injected rows.
    Streams the store without its stamps."""
    frames = [b for b in iter_store_batches(path, columns=["task_id", *_SUMMARY_COLUMNS])]
    meta = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["split", *_SUMMARY_COLUMNS])
    rows = []
    for split, grp in meta.groupby("split", sort=True, observed=True):
        inj = grp[grp["label"] == 1]
        ctrl = grp[grp["label"] == 0]
        row = {
            "split": split, "rows": len(grp), "injected": len(inj),
            "paired_controls": int(inj["pairing"].eq("paired").sum()),  # ctrl_stamp of an injected row
            "unpaired_controls": int(ctrl["pairing"].eq("unpaired").sum()),
            "control_rows": len(ctrl), "cutout_ok": int(grp["cutout_ok"].sum()),
            "physics_valid": int(inj["physics_valid"].fillna(False).astype(bool).sum()),
        }  # fmt: skip
        for col in ("arc_snr", "magnification", "lens_theta_E"):
            q = inj[col].astype(float).quantile([0.1, 0.5, 0.9]).to_numpy() if len(inj) else np.full(3, np.nan)
            row.update({f"{col}_p10": q[0], f"{col}_median": q[1], f"{col}_p90": q[2]})
        rows.append(row)
    return pd.DataFrame(rows)


def _asinh_rgb(stamp: np.ndarray, scale: float) -> np.ndarray:
    """``(3, H, W)`` g, r, z → ``(H, W, 3)`` RGB = (z, r, g), asinh stretch (Lupton et al. 2004): 0 → black,
    ``10·scale`` nMgy → full intensity."""
    rgb = np.stack([stamp[BANDS.index(b)] for b in ("z", "r", "g")], axis=-1)
    return np.clip(np.arcsinh(rgb / scale) / np.arcsinh(10.0), 0, 1)


def preview_figure(path: str | os.PathLike, n: int = 6, split: str | None = None, seed: int = 0) -> Figure:
    """A grid of ``n`` paired injected rows: injected stamp, its control and the residual (r band).

    Rows are drawn at random (``seed``) among paired injected rows of ``split`` (all splits by default),
    sorted by ``arc_snr``. Stamps are shown as grz colour images (asinh stretch, one scale per row), the
    residual ``stamp − ctrl_stamp`` (the arc) in r on a symmetric linear scale.
    """
    frame = read_store(path, split=split, columns=["task_id", "label", "pairing", "arc_snr", "lens_theta_E",
                                                   "stamp", "ctrl_stamp"])  # fmt: skip
    frame = frame[(frame["label"] == 1) & frame["ctrl_stamp"].notna()]
    if frame.empty:
        raise ValueError(f"stamp store '{path}' has no paired injected row to preview")
    pick = frame.sample(min(n, len(frame)), random_state=seed).sort_values("arc_snr")
    fig = Figure(figsize=(6.0, 2.0 * len(pick)))
    axes = fig.subplots(len(pick), 3, squeeze=False)
    r = BANDS.index("r")
    for ax_row, row in zip(axes, pick.itertuples(index=False), strict=True):
        scale = max(float(np.percentile(np.abs(row.ctrl_stamp[r]), 99)), 1e-3)
        resid = row.stamp[r] - row.ctrl_stamp[r]
        lim = max(float(np.abs(resid).max()), 1e-6)
        ax_row[0].imshow(_asinh_rgb(row.stamp, scale), origin="lower")
        ax_row[1].imshow(_asinh_rgb(row.ctrl_stamp, scale), origin="lower")
        ax_row[2].imshow(resid, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax_row[0].set_ylabel(f"θE={row.lens_theta_E:.2f}″\nSNR={row.arc_snr:.1f}", fontsize=7)
        for ax in ax_row:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, title in zip(axes[0], ("injected (grz)", "control (grz)", "residual r (nMgy)"), strict=True):
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig
