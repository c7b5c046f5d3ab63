"""Tiny stamp stores written through dhs-inject's store writer (the contract's layout), with learnable arcs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dhs_inject.store import write_store


def synthetic_rows(n_lrg: int = 24, size: int = 32, seed: int = 0, arc_amp: float = 3.0, replicates: int = 1) -> pd.DataFrame:
    """Paired rows (stamp = host + arc, ctrl_stamp = host) over ``n_lrg`` hosts split 50/25/25 %."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - size // 2
    r = np.hypot(yy, xx)
    rows = []
    for i in range(n_lrg):
        split = "train" if i < n_lrg // 2 else ("val" if i < 3 * n_lrg // 4 else "test")
        host = (np.exp(-r / rng.uniform(1.5, 3.0))[None] * np.array([1.0, 2.0, 3.0])[:, None, None]).astype(np.float32)
        for rep in range(replicates):
            noise = rng.normal(0, 0.05, (3, size, size)).astype(np.float32)
            ctrl = host + noise
            theta = rng.uniform(4, 8)
            phi = rng.uniform(0, 2 * np.pi)
            ang = np.angle(np.exp(1j * (np.arctan2(yy, xx) - phi)))
            arc = (np.exp(-((r - theta) ** 2) / 1.0) * (np.abs(ang) < 1.2)).astype(np.float32)
            stamp = ctrl + arc_amp * 0.05 * arc[None] * np.array([1.5, 1.0, 0.6], np.float32)[:, None, None]
            rows.append(
                {
                    "task_id": f"t{i:04d}_{rep}",
                    "lrg_id": f"lrg{i:04d}",
                    "split": split,
                    "label": np.int8(1),
                    "pairing": "paired",
                    "cutout_ok": True,
                    "bandset": "grz",
                    "theta_e_over_psf": theta * 0.262 / rng.uniform(0.9, 1.6),
                    "arc_snr": float(rng.uniform(2, 30)),
                    "psfsize_r": float(rng.uniform(0.9, 1.6)),
                    "psfdepth_r": float(rng.uniform(200, 3000)),
                    "stamp": stamp,
                    "ctrl_stamp": ctrl,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def make_store(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str = "store", frame: pd.DataFrame | None = None, part_rows: int = 4, layout: str = "tensor", **kw) -> Path:
        root = tmp_path / name
        write_store(synthetic_rows(**kw) if frame is None else frame, root, part_rows=part_rows, layout=layout)
        return root

    return make


@pytest.fixture
def synthetic() -> Callable[..., pd.DataFrame]:
    """:func:`synthetic_rows` (tests import nothing from conftest: pytest runs with --import-mode=importlib)."""
    return synthetic_rows
