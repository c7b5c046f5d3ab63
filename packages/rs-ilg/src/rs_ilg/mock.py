"""Mock SPARC-like galaxies for the embedded default: rotmod files and a galaxy table in the SPARC formats,
read back by the same readers as the real data.

Each mock galaxy has an exponential stellar disc (Freeman 1970 rotation curve), an exponential gas disc with
a central depression (so V_gas can be negative at small radii, as in SPARC), an optional Hernquist bulge and
a cored isothermal dark halo. V_disk and V_bul are written for M/L = 1 at 3.6 micron; the "observed" curve
uses Upsilon_disk = 0.5 and Upsilon_bul = 0.7, adds the halo, then Gaussian noise with realistic errors
(errV about 3-7 % of V plus 1-3 km/s). Units follow SPARC: kpc, km/s, Lsun/pc^2; table masses in 1e9 Msun.
Everything is deterministic for a given ``seed``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import i0, i1, k0, k1

from .atomicio import write_text
from .constants import G_KPC_KMS2_MSUN
from .rotmod import Rotmod, format_rotmod
from .table import format_sparc_table

UPSILON_DISK_TRUE = 0.5
UPSILON_BUL_TRUE = 0.7


def freeman_v2(r_kpc: np.ndarray, mass_msun: float, rd_kpc: float) -> np.ndarray:
    """v^2 [(km/s)^2] of a razor-thin exponential disc of total mass ``mass_msun`` and scale ``rd_kpc``."""
    y = np.asarray(r_kpc, dtype=float) / (2.0 * rd_kpc)
    sigma0 = mass_msun / (2.0 * np.pi * rd_kpc**2)
    return 4.0 * np.pi * G_KPC_KMS2_MSUN * sigma0 * rd_kpc * y**2 * (i0(y) * k0(y) - i1(y) * k1(y))


def hernquist_v2(r_kpc: np.ndarray, mass_msun: float, a_kpc: float) -> np.ndarray:
    """v^2 [(km/s)^2] of a Hernquist sphere: G M r / (r + a)^2."""
    r = np.asarray(r_kpc, dtype=float)
    return G_KPC_KMS2_MSUN * mass_msun * r / (r + a_kpc) ** 2


def isothermal_v2(r_kpc: np.ndarray, v_inf_kms: float, rc_kpc: float) -> np.ndarray:
    """v^2 [(km/s)^2] of a cored isothermal halo: V_inf^2 [1 - (rc/r) arctan(r/rc)]."""
    r = np.asarray(r_kpc, dtype=float)
    return v_inf_kms**2 * (1.0 - (rc_kpc / r) * np.arctan(r / rc_kpc))


def _signed_sqrt(v2: np.ndarray) -> np.ndarray:
    return np.sign(v2) * np.sqrt(np.abs(v2))


def make_mock_galaxies(n_galaxies: int = 12, seed: int = 0) -> tuple[dict[str, Rotmod], pd.DataFrame]:
    """Build ``n_galaxies`` mock galaxies in memory: (rotmod curves by name, SPARC-format table).

    Values are rounded as the files store them (2 decimals in rotmod files), so what is returned equals
    what the readers get back from :func:`write_mock_sparc`. Every sixth galaxy has only 6 points, so the
    "at least 7 points" cohort rule has something to exclude; Q flags cycle through 1, 1, 2, 1, 3, 2.
    """
    if n_galaxies < 1:
        raise ValueError("n_galaxies must be >= 1")
    rng = np.random.default_rng(seed)
    curves: dict[str, Rotmod] = {}
    rows = []
    q_cycle = (1, 1, 2, 1, 3, 2)
    for i in range(n_galaxies):
        name = f"MOCK{i + 1:03d}"
        log_l = rng.uniform(8.0, 11.3)  # 3.6 micron luminosity [Lsun]
        lum = 10.0**log_l
        rd = float(np.clip(10.0 ** (0.35 * (log_l - 10.0) + 0.4 + rng.normal(0, 0.1)), 0.4, 12.0))
        m_hi = lum * 10.0 ** rng.uniform(-1.2, 0.6) * (2.0 if log_l < 9.0 else 0.5)
        m_gas = 1.33 * m_hi
        r_gas = rd * rng.uniform(1.8, 3.0)
        has_bulge = log_l > 10.3 and rng.random() < 0.7
        l_bul = lum * rng.uniform(0.1, 0.4) if has_bulge else 0.0
        a_bul = 0.2 * rd
        v_h = 40.0 + 170.0 * (log_l - 8.0) / 3.3 * rng.uniform(0.8, 1.2)
        rc = rd * rng.uniform(0.8, 3.0)
        n_pts = 6 if i % 6 == 5 else int(rng.integers(9, 30))
        r_max = rd * rng.uniform(4.0, 8.0)
        r = np.round(np.linspace(r_max / n_pts, r_max, n_pts), 2)
        r = np.maximum(r, 0.01 * (np.arange(n_pts) + 1))
        v_disk = np.sqrt(np.maximum(freeman_v2(r, lum, rd), 0.0))
        v_gas2 = freeman_v2(r, m_gas * 1.25, r_gas) - freeman_v2(r, m_gas * 0.25, 0.5 * r_gas)
        v_gas = _signed_sqrt(v_gas2)
        v_bul = np.sqrt(hernquist_v2(r, l_bul, a_bul)) if has_bulge else np.zeros_like(r)
        v_true = np.sqrt(np.maximum(
            v_gas * np.abs(v_gas) + UPSILON_DISK_TRUE * v_disk**2 + UPSILON_BUL_TRUE * v_bul**2
            + isothermal_v2(r, v_h, rc), 1.0))  # fmt: skip
        e_v = np.round(np.maximum(rng.uniform(0.03, 0.07) * v_true + rng.uniform(1.0, 3.0), 1.0), 2)
        v_obs = np.round(np.maximum(v_true + rng.normal(0.0, e_v), 1.0), 2)
        sb_disk = lum / (2.0 * np.pi * rd**2) * np.exp(-r / rd) / 1e6
        sb_bul = (l_bul / (2.0 * np.pi * a_bul**2) * (1.0 + r / a_bul) ** -3 / 1e6) if has_bulge else np.zeros_like(r)
        dist = float(np.round(rng.uniform(2.0, 60.0), 2))
        curves[name] = Rotmod(
            name=name, distance_mpc=dist, r_kpc=r, v_obs=v_obs, e_v=e_v, v_gas=np.round(v_gas, 2),
            v_disk=np.round(v_disk, 2), v_bul=np.round(v_bul, 2), sb_disk=np.round(sb_disk, 2),
            sb_bul=np.round(sb_bul, 2), source=f"mock:{name}",
        )  # fmt: skip
        vflat = float(np.round(np.median(v_obs[-3:]), 1))
        rows.append({
            "Galaxy": name, "T": int(rng.integers(0, 12)), "D": dist, "e_D": round(0.1 * dist, 2),
            "f_D": int(rng.integers(1, 6)), "Inc": round(float(rng.uniform(30, 85)), 1),
            "e_Inc": round(float(rng.uniform(1, 6)), 1), "L[3.6]": round(lum / 1e9, 3),
            "e_L[3.6]": round(0.03 * lum / 1e9, 3), "Reff": round(1.68 * rd, 2),
            "SBeff": round(lum / 2 / (np.pi * (1.68 * rd) ** 2) / 1e6, 2), "Rdisk": round(rd, 2),
            "SBdisk": round(lum / (2 * np.pi * rd**2) / 1e6, 2), "MHI": round(m_hi / 1e9, 3),
            "RHI": round(3.0 * r_gas, 2), "Vflat": vflat, "e_Vflat": round(max(2.0, 0.05 * vflat), 1),
            "Q": q_cycle[i % len(q_cycle)], "Ref.": "Mock",
        })  # fmt: skip
    table = pd.DataFrame(rows).set_index("Galaxy")
    return curves, table


def write_mock_sparc(out_dir: str | Path, n_galaxies: int = 12, seed: int = 0) -> tuple[Path, Path]:
    """Write mock galaxies as ``<out_dir>/Rotmod_LTG/<name>_rotmod.dat`` and ``<out_dir>/SPARC_mock.mrt``.

    Returns (rotmod_dir, table_path). Files are written atomically; the same (n_galaxies, seed) always
    gives byte-identical files.
    """
    out = Path(out_dir)
    curves, table = make_mock_galaxies(n_galaxies, seed)
    rot_dir = out / "Rotmod_LTG"
    rot_dir.mkdir(parents=True, exist_ok=True)
    for name, rm in curves.items():
        write_text(rot_dir / f"{name}_rotmod.dat", format_rotmod(rm))
    table_path = write_text(out / "SPARC_mock.mrt", format_sparc_table(table))
    return rot_dir, table_path
