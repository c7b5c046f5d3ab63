"""Fixtures of the kernel, runner, CLI and compat tests: a small synthetic survey and a manifest (no shared data)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dhs_inject.bands import mag_to_nmgy
from dhs_inject.survey import read_survey, write_embedded_survey

#: three real DR10 brick names at the LRG positions the synthetic writer centres them on
BRICKS = {"0359p185": (35.89, 18.51), "0349m147": (34.99, -14.76), "2253m027": (225.35, -2.75)}


def fake_lrgs(per_brick: int = 8, seed: int = 0) -> pd.DataFrame:
    """A parent-catalogue-like table (upstream column names) with ``per_brick`` rows per brick."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, (ra, dec) in BRICKS.items():
        for _ in range(per_brick):
            r = rng.uniform(19.5, 21.0)
            rows.append({"RA": ra + rng.normal(0, 0.01), "DEC": dec + rng.normal(0, 0.01), "BRICKNAME": name,
                         "FLUX_G": mag_to_nmgy(r + 1.6), "FLUX_R": mag_to_nmgy(r), "FLUX_Z": mag_to_nmgy(r - 0.9),
                         "TYPE": "DEV", "r_mag": r, "z_mag": r - 0.9, "r_minus_z": 0.9, "z_minus_w1": 1.2})  # fmt: skip
    return pd.DataFrame(rows)


def write_survey(root: Path, per_brick: int = 6, brick_pix: int = 200):
    """A 3-brick synthetic survey with ``per_brick`` hosts each; returns ``read_survey(root)``."""
    cat = root.parent / f"{root.name}-parent.parquet"
    fake_lrgs(per_brick + 2).to_parquet(cat)
    write_embedded_survey(root, lrg_catalogue=cat, n_bricks=3, lrgs_per_brick=per_brick, brick_pix=brick_pix)
    return read_survey(root)


def manifest_for(lrgs: pd.DataFrame, seed: int = 0, controls: int = 2) -> pd.DataFrame:
    """Injected rows (one per host) plus ``controls`` unpaired control rows, splits by brick, lenstronomy names."""
    rng = np.random.default_rng(seed)
    n = len(lrgs)
    split_of = dict(zip(sorted(lrgs["BRICKNAME"].unique()), ["train", "val", "test"], strict=False))
    theta = rng.uniform(0.6, 1.6, n)
    ang = rng.uniform(0, 2 * np.pi, n)
    beta = theta * np.sqrt(rng.uniform(0.1**2, 0.4**2, n))
    mag_r = rng.uniform(21.5, 23.0, n)
    fwhm_r = rng.uniform(1.0, 1.4, n)
    frame = pd.DataFrame({
        "task_id": [hashlib.sha256(f"{seed}|{i}".encode()).hexdigest() for i in range(n)],
        "lrg_id": [f"lrg{i}" for i in range(n)],
        "brickname": lrgs["BRICKNAME"].to_numpy(), "ra_deg": lrgs["RA"].to_numpy(), "dec_deg": lrgs["DEC"].to_numpy(),
        "split": lrgs["BRICKNAME"].map(split_of).to_numpy(), "label": np.int8(1), "pairing": "paired",
        "lens_model": "SIE", "lens_theta_E": theta, "lens_e1": rng.uniform(-0.2, 0.2, n),
        "lens_e2": rng.uniform(-0.2, 0.2, n), "lens_center_x": rng.normal(0, 0.05, n),
        "lens_center_y": rng.normal(0, 0.05, n), "shear_gamma1": rng.normal(0, 0.05, n),
        "shear_gamma2": rng.normal(0, 0.05, n), "source_model": "SERSIC_ELLIPSE",
        "src_R_sersic": rng.uniform(0.15, 0.5, n), "src_n_sersic": rng.uniform(0.5, 2, n),
        "src_e1": rng.uniform(-0.3, 0.3, n), "src_e2": rng.uniform(-0.3, 0.3, n),
        "src_center_x": beta * np.cos(ang), "src_center_y": beta * np.sin(ang), "src_mag_r": mag_r,
        "src_flux_g": mag_to_nmgy(mag_r + 1.15), "src_flux_r": mag_to_nmgy(mag_r), "src_flux_z": mag_to_nmgy(mag_r - 0.85),
        "psf_fwhm_g": 1.05 * fwhm_r, "psf_fwhm_r": fwhm_r, "psf_fwhm_z": 0.94 * fwhm_r,
    })  # fmt: skip
    ctrl = frame.iloc[:controls].copy()
    ctrl["task_id"] = [t[::-1] for t in ctrl["task_id"]]
    ctrl["label"] = np.int8(0)
    ctrl["pairing"] = "unpaired"
    ctrl["lens_model"] = "CONTROL"
    for col in [c for c in frame if c.startswith(("lens_theta", "lens_e", "lens_center", "shear_", "src_"))]:
        ctrl[col] = 0.0 if col != "src_mag_r" else np.nan
    return pd.concat([frame, ctrl], ignore_index=True)


@pytest.fixture(scope="session")
def inject_survey(tmp_path_factory: pytest.TempPathFactory):
    """A 3-brick synthetic survey (one brick per split), 5 hosts per brick, 160-pixel bricks."""
    return write_survey(tmp_path_factory.mktemp("survey") / "survey", per_brick=5, brick_pix=160)


@pytest.fixture(scope="session")
def inject_manifest(inject_survey) -> pd.DataFrame:
    """15 injected (paired) rows and 3 unpaired control rows on :func:`inject_survey`."""
    return manifest_for(inject_survey.lrgs, controls=3)
