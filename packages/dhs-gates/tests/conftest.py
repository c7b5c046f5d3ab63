"""Tiny synthetic stores and scorers built to pass or to fail each gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import uniform_filter
from scipy.special import expit

N_PIX = 64
R = np.hypot(*np.meshgrid(np.arange(N_PIX) - N_PIX // 2, np.arange(N_PIX) - N_PIX // 2, indexing="ij"))
PHI = np.arctan2(*np.meshgrid(np.arange(N_PIX) - N_PIX // 2, np.arange(N_PIX) - N_PIX // 2, indexing="ij"))
NOISE = 0.01  # nMgy per pixel


def host(rng: np.random.Generator) -> np.ndarray:
    """A round de Vaucouleurs-like blob, brighter in z than g; shape (3, 64, 64) nMgy (no noise)."""
    amp = rng.uniform(0.8, 1.2)
    return np.stack([amp * c * np.exp(-R / 2.5) for c in (0.5, 1.0, 1.5)])


def arc(rng: np.random.Generator, radius: float, flux: float) -> np.ndarray:
    """A tangential arc segment at ``radius`` px, 2 px wide, 90° long; shape (3, 64, 64) nMgy."""
    phi0 = rng.uniform(-np.pi, np.pi)
    dphi = np.angle(np.exp(1j * (PHI - phi0)))
    img = flux * np.exp(-0.5 * ((R - radius) / 1.0) ** 2) * (np.abs(dphi) < np.pi / 4)
    return np.stack([img * c for c in (1.0, 0.9, 0.8)])


def make_store(n_hosts: int = 60, *, seed: int = 0, arc_radius: float = 15.0, arc_flux: float = 0.03,
               core_boost: float = 0.0, core_sigma: float = 1.5, host_scale: float = 1.0,
               splits: tuple[str, ...] = ("train", "val", "test"), overlap: bool = False) -> pd.DataFrame:
    """A paired store: each host gives one row (stamp = host + arc + noise, ctrl = host + same noise).

    ``host_scale`` scales the host's flux. ``core_boost`` adds flux ``core_boost`` × a Gaussian of σ = ``core_sigma`` px at the centre of positives only (a planted
    core shortcut). ``overlap=True`` puts host 0's region in every split.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_hosts):
        split = splits[i % len(splits)]
        h = host_scale * host(rng)
        noise = rng.normal(0, NOISE, size=h.shape)
        a = arc(rng, arc_radius, arc_flux) + core_boost * np.exp(-0.5 * (R / core_sigma) ** 2)[None]
        healpix = 0 if overlap and i < len(splits) else i
        theta_psf = rng.uniform(0.5, 3.0)
        rows.append({
            "task_id": f"t{i}", "lrg_id": f"lrg{i}", "brickname": f"b{healpix}", "healpix": healpix,
            "ra_deg": 10 + i * 0.01, "dec_deg": 0.0, "split": split, "label": 1, "pairing": "paired",
            "psfsize_r": rng.uniform(1.0, 1.6), "psfdepth_r": rng.uniform(100, 1000), "bandset": "grz",
            "bad_pixel_frac": rng.uniform(0, 0.05), "cutout_ok": True, "arc_snr": theta_psf * 10,
            "theta_e_over_psf": theta_psf, "lens_theta_E": arc_radius * 0.262,
            "stamp": (h + a + noise).astype(np.float32), "ctrl_stamp": (h + noise).astype(np.float32),
            "invvar": np.full(h.shape, NOISE**-2, np.float32),
        })
    return pd.DataFrame(rows)


def arc_scorer(stamps: np.ndarray) -> np.ndarray:
    """Looks for a coherent arc: max of the 5×5-smoothed ring residual in 6 ≤ r < 20 px (r band)."""
    x = stamps[:, 1].astype(np.float64)
    ring = np.floor(R).astype(int)
    model = np.zeros_like(x)
    for k in range(32):
        m = ring == k
        model[:, m] = np.median(x[:, m], axis=1)[:, None]
    smooth = uniform_filter(x - model, size=(1, 5, 5))
    peak = smooth[:, (R >= 6) & (R < 20)].max(axis=1)
    return expit((peak - 0.0105) / 0.0008)


def core_scorer(stamps: np.ndarray) -> np.ndarray:
    """Looks only at the core: mean r-band flux at r < 3 px against the host's r in 3–6 px (profile slope)."""
    x = stamps[:, 1].astype(np.float64)
    inner, mid = x[:, R < 3].mean(1), x[:, (R >= 3) & (R < 6)].mean(1)
    return expit((inner / np.maximum(mid, 1e-6) - 2.6) * 8)


@pytest.fixture(scope="session")
def clean_store() -> pd.DataFrame:
    return make_store()


@pytest.fixture(scope="session")
def shortcut_store() -> pd.DataFrame:
    return make_store(core_boost=1.0, arc_radius=4.0, arc_flux=0.3)
