"""Master table: one :class:`Galaxy` per rotmod file with its arrays and derived scalars (spec 2.2, 2.3).

Compat mode follows the original builder: heuristic R_d = r(argmax V_disk)/2.2, masses from mean squared
component velocities, f_gas_true with an H2 recipe, and no use of the SPARC table. Corrected mode takes
R_d = catalog Rdisk, the gas fraction from catalog MHI (times 1.33 for helium) against
Upsilon_* L[3.6] (Upsilon_* = 0.5 at 3.6 micron), and the real Q flags.

Masses in Msun, lengths in kpc, Sigma_0 in Msun/kpc^2, velocities in km/s.
"""

from __future__ import annotations

import math
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Literal

import numpy as np
import pandas as pd

from .constants import G_KPC_KMS2_MSUN, MASK_RD_FRACTION
from .modes import ModeConfig
from .rotmod import Rotmod

#: Stellar M/L at 3.6 micron used for catalog stellar masses in corrected mode [Msun/Lsun].
UPSILON_STAR_36: float = 0.5
#: Helium (and metals) correction applied to catalog MHI in corrected mode.
HELIUM_FACTOR: float = 1.33
#: Minimum number of points with r >= 0.3 R_d for the "Q1" cohort, and for the "FULL" cohort (spec 2.3).
MIN_POINTS_Q1: int = 7
MIN_POINTS_FULL: int = 5
#: Minimum number of usable points (r > 0 and Vobs > 0) for the grid runners and the features builder.
MIN_POINTS_GRID: int = 5
#: Per-point arrays of a :class:`Galaxy` (one value per kept rotmod row).
ARRAY_FIELDS: tuple[str, ...] = ("r_kpc", "v_obs", "e_v", "v_gas", "v_disk", "v_bul", "sb_disk", "sb_bul")


class MissingGalaxyError(ValueError):
    """A galaxy of the rotmod set is absent from the galaxy table (``galaxy``, ``path`` of the table)."""

    def __init__(self, galaxy: str, path: str) -> None:
        self.galaxy = galaxy
        self.path = path
        super().__init__(f"{path}: galaxy {galaxy!r} (from its rotmod file) is absent from the galaxy table")


@dataclass
class Galaxy:
    """One galaxy of the master table: rotmod arrays (kept rows) and scalars.

    ``R_d_kpc`` is the scale length used by this mode (heuristic or catalog); both candidates are kept.
    ``f_gas`` is the gas fraction this mode feeds to the threads factor xi. ``q_flag`` is the SPARC Q
    (``None`` when no table was given or, in compat mode, the value the original would see: see
    :func:`subset_names`). ``dwarf_sigma0`` is the non-kinematic dwarf flag Sigma_0 < median(master).
    """

    name: str
    r_kpc: np.ndarray
    v_obs: np.ndarray
    e_v: np.ndarray
    v_gas: np.ndarray
    v_disk: np.ndarray
    v_bul: np.ndarray
    sb_disk: np.ndarray
    sb_bul: np.ndarray
    distance_mpc: float
    R_d_kpc: float
    R_d_heuristic_kpc: float
    R_d_catalog_kpc: float
    R_d_source: str
    f_gas: float
    f_gas_true: float
    f_gas_proxy: float
    M_gas_est: float
    M_star_est: float
    M_HI: float
    M_H2: float
    Sigma_0: float
    q_flag: int | None
    dwarf_sigma0: bool = False
    source: str = ""

    @property
    def n_points(self) -> int:
        return int(self.r_kpc.size)

    @property
    def n_points_r_ge_0p3Rd(self) -> int:
        return int(np.count_nonzero(np.isfinite(self.r_kpc) & (self.r_kpc >= MASK_RD_FRACTION * self.R_d_kpc)))

    def take(self, sel: np.ndarray) -> Galaxy:
        """The galaxy restricted to the points ``sel`` (bool mask or indices over its points)."""
        return replace(self, **{k: getattr(self, k)[sel] for k in ARRAY_FIELDS})

    def usable(self) -> np.ndarray:
        """Points with r > 0 and Vobs > 0 (bool, one per point)."""
        return (self.r_kpc > 0) & (self.v_obs > 0)


def too_few_points(g: Galaxy, min_points: int) -> str | None:
    """Why ``g`` cannot be run (fewer than ``min_points`` points with r > 0 and Vobs > 0), or ``None``."""
    n = int(np.count_nonzero(g.usable()))
    if n >= min_points:
        return None
    return f"{g.name}: only {n} points with r > 0 and Vobs > 0 (fewer than {min_points})"


@dataclass
class Master(Mapping[str, Galaxy]):
    """The master table: ``galaxies`` (name -> :class:`Galaxy`, C-locale name order), ``skipped`` (galaxy,
    reason), the ``mode`` it was built with and ``sigma0_median`` (the population median used by the
    non-kinematic dwarf flag). Reads as a mapping of names to galaxies; :meth:`to_table` /
    :meth:`from_table` give its one-table form (one row per point, the galaxy's scalars repeated)."""

    galaxies: dict[str, Galaxy]
    mode: ModeConfig
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["galaxy", "reason"]))
    sigma0_median: float = math.nan

    def __getitem__(self, name: str) -> Galaxy:
        return self.galaxies[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.galaxies)

    def __len__(self) -> int:
        return len(self.galaxies)

    def to_table(self) -> pd.DataFrame:
        """One row per point: galaxy, the :data:`ARRAY_FIELDS` and every scalar of its :class:`Galaxy`.
        ``attrs`` carry the mode, ``sigma0_median`` and the skipped galaxies (kept by parquet)."""
        scalars = [f.name for f in fields(Galaxy) if f.name not in ARRAY_FIELDS and f.name != "name"]
        parts = [pd.DataFrame({"galaxy": g.name, **{k: getattr(g, k) for k in ARRAY_FIELDS},
                               **{k: getattr(g, k) for k in scalars}}) for g in self.galaxies.values()]  # fmt: skip
        df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["galaxy", *ARRAY_FIELDS, *scalars])
        df["q_flag"] = df["q_flag"].astype("Int64")
        df.attrs = {"mode": json.dumps(self.mode.to_dict()), "sigma0_median": float(self.sigma0_median),
                    "skipped": self.skipped.astype(str).to_json(orient="records")}  # fmt: skip
        return df

    @classmethod
    def from_table(cls, df: pd.DataFrame) -> Master:
        """Inverse of :meth:`to_table`."""
        scalars = [f.name for f in fields(Galaxy) if f.name not in ARRAY_FIELDS and f.name != "name"]
        galaxies = {}
        for name, sub in df.groupby("galaxy", sort=False):
            first = sub.iloc[0]
            sc = {k: (None if pd.isna(first[k]) else int(first[k])) if k == "q_flag" else first[k] for k in scalars}
            sc["dwarf_sigma0"] = bool(sc["dwarf_sigma0"])
            galaxies[str(name)] = Galaxy(name=str(name), **{k: sub[k].to_numpy(float) for k in ARRAY_FIELDS}, **sc)
        skipped = pd.DataFrame(json.loads(df.attrs.get("skipped", "[]")), columns=["galaxy", "reason"])
        return cls(galaxies=galaxies, mode=ModeConfig.from_dict(json.loads(df.attrs["mode"])), skipped=skipped,
                   sigma0_median=float(df.attrs.get("sigma0_median", math.nan)))  # fmt: skip


def population(master: Mapping[str, Galaxy], subset: Sequence[str] | None) -> list[str]:
    """``master`` ∩ ``subset`` in master order (all of the master when ``subset`` is None)."""
    if subset is None:
        return list(master)
    wanted = set(subset)
    return [n for n in master if n in wanted]


def heuristic_rd(r_kpc: np.ndarray, v_disk: np.ndarray) -> float:
    """R_d = r at the first maximum of V_disk divided by 2.2; 2.0 kpc when no V_disk > 0 (spec 2.2)."""
    if not np.any(v_disk > 0):
        return 2.0
    return float(r_kpc[int(np.argmax(v_disk))] / 2.2)


def velocity_mass_estimates(
    r_kpc: np.ndarray, v_gas: np.ndarray, v_disk: np.ndarray, v_bul: np.ndarray
) -> dict[str, float]:
    """The original's crude masses from mean squared component velocities [km/s] at radii [kpc] (spec 2.2).

    M_gas = <Vgas^2> R_typ / G (1e8 if zero), M_star = (<Vdisk^2> + <Vbul^2>) R_typ / G (1e9 if zero),
    R_typ = median radius; M_H2 = 0.4 (M_star/1e10)^0.3 M_HI; f_gas_true = (M_HI+M_H2)/(M_HI+M_H2+M_star);
    f_gas_proxy = <Vgas^2>/(<Vgas^2> + <Vdisk^2+Vbul^2>).
    """
    r_typ = float(np.median(r_kpc))
    vg2 = float(np.mean(v_gas**2))
    vs2 = float(np.mean(v_disk**2)) + float(np.mean(v_bul**2))
    m_gas = vg2 * r_typ / G_KPC_KMS2_MSUN if vg2 > 0 else 1e8
    m_star = vs2 * r_typ / G_KPC_KMS2_MSUN if vs2 > 0 else 1e9
    m_hi = m_gas
    m_h2 = 0.4 * (m_star / 1e10) ** 0.3 * m_hi if (m_star > 0 and m_hi > 0) else 0.0
    f_true = (m_hi + m_h2) / (m_hi + m_h2 + m_star)
    denom = vg2 + float(np.mean(v_disk**2 + v_bul**2))
    f_proxy = vg2 / denom if denom > 0 else math.nan
    return {"M_gas_est": m_gas, "M_star_est": m_star, "M_HI": m_hi, "M_H2": m_h2, "f_gas_true": f_true,
            "f_gas_proxy": f_proxy}  # fmt: skip


def build_master(
    rotmods: Mapping[str, Rotmod],
    table: pd.DataFrame | None,
    mode: ModeConfig,
    on_missing: Literal["raise", "skip"] = "raise",
) -> Master:
    """Build the master table from rotmod curves (and the SPARC table, required by corrected modes).

    Rows with Rad <= 0, Vobs <= 0 or errV <= 0 are removed (the readers already refuse or record them).
    A galaxy absent from ``table`` raises :class:`MissingGalaxyError` when the mode needs the table
    (``rd_source="catalog"``, ``gas_fraction="catalog_mhi"`` or ``quality_gate="sparc_q"``), or is left
    out and recorded in ``master.skipped`` with ``on_missing="skip"``. In compat mode the table only
    supplies ``q_flag`` for reporting (the original never reads it).
    """
    needs_table = mode.needs_galaxy_table
    if needs_table and table is None:
        raise ValueError(f"mode {mode.mode!r} needs the SPARC galaxy table (rd_source={mode.rd_source!r}, "
                         f"gas_fraction={mode.gas_fraction!r}, quality_gate={mode.quality_gate!r})")  # fmt: skip
    table_src = str(table.attrs.get("source", "<galaxy table>")) if table is not None else ""
    skipped: list[dict[str, str]] = []
    out: dict[str, Galaxy] = {}
    for name in sorted(rotmods):
        rm = rotmods[name]
        keep = (rm.r_kpc > 0) & (rm.v_obs > 0) & (rm.e_v > 0)
        if not np.any(keep):
            skipped.append({"galaxy": name, "reason": "no rows with Rad > 0, Vobs > 0 and errV > 0"})
            continue
        row = table.loc[name] if (table is not None and name in table.index) else None
        if row is None and needs_table:
            if on_missing == "raise":
                raise MissingGalaxyError(name, table_src)
            skipped.append({"galaxy": name, "reason": f"absent from galaxy table {table_src}"})
            continue
        arrs = {k: getattr(rm, k)[keep] for k in ARRAY_FIELDS}
        rd_h = heuristic_rd(arrs["r_kpc"], arrs["v_disk"])
        rd_cat = float(row["Rdisk"]) if row is not None else math.nan
        if mode.rd_source == "catalog" and rd_cat > 0:
            rd, rd_src = rd_cat, "catalog"
        elif mode.rd_source == "catalog":
            rd, rd_src = rd_h, f"heuristic (catalog Rdisk = {rd_cat:g} is not positive)"
        else:
            rd, rd_src = rd_h, "heuristic"
        est = velocity_mass_estimates(arrs["r_kpc"], arrs["v_gas"], arrs["v_disk"], arrs["v_bul"])
        if mode.gas_fraction == "catalog_mhi":
            m_star = UPSILON_STAR_36 * float(row["L[3.6]"]) * 1e9
            m_hi = float(row["MHI"]) * 1e9
            m_gas = HELIUM_FACTOR * m_hi
            f_gas = m_gas / (m_gas + m_star) if (m_gas + m_star) > 0 else math.nan
            masses = {"M_gas_est": m_gas, "M_star_est": m_star, "M_HI": m_hi, "M_H2": 0.0}
        else:
            f_gas = est["f_gas_true"]
            masses = {k: est[k] for k in ("M_gas_est", "M_star_est", "M_HI", "M_H2")}
        f_true = est["f_gas_true"] if mode.gas_fraction == "velocity_estimate" else f_gas
        sigma0 = masses["M_star_est"] / (2.0 * math.pi * rd**2)
        q = int(row["Q"]) if (row is not None and "Q" in row.index) else None
        dist = float(row["D"]) if (row is not None and mode.rd_source == "catalog") else rm.distance_mpc
        out[name] = Galaxy(
            name=name, distance_mpc=dist, R_d_kpc=rd, R_d_heuristic_kpc=rd_h, R_d_catalog_kpc=rd_cat,
            R_d_source=rd_src, f_gas=f_gas, f_gas_true=f_true, f_gas_proxy=est["f_gas_proxy"],
            Sigma_0=sigma0, q_flag=q, source=rm.source, **masses, **arrs,
        )  # fmt: skip
    s0 = np.array([g.Sigma_0 for g in out.values()])
    s0_median = float(np.median(s0)) if s0.size else math.nan
    for g in out.values():
        g.dwarf_sigma0 = bool(g.Sigma_0 < s0_median)
    return Master(galaxies=out, mode=mode, skipped=pd.DataFrame(skipped, columns=["galaxy", "reason"]),
                  sigma0_median=s0_median)


def baryonic_v2(g: Galaxy, mode: ModeConfig, ml_disk: float = 1.0, ml_bulge: float = 1.0) -> np.ndarray:
    """Baryonic v^2 [(km/s)^2] at each point (not floored).

    compat (``signed_v2=False``): Vgas^2 + Upsilon_d Vdisk^2 + Upsilon_b Vbul^2 (gas sign lost).
    signed: Vgas|Vgas| + Upsilon_d Vdisk|Vdisk| + Upsilon_b Vbul|Vbul| (SPARC convention).
    """
    if mode.signed_v2:
        return g.v_gas * np.abs(g.v_gas) + ml_disk * g.v_disk * np.abs(g.v_disk) + ml_bulge * g.v_bul * np.abs(g.v_bul)
    return g.v_gas**2 + ml_disk * g.v_disk**2 + ml_bulge * g.v_bul**2


def baryonic_velocity(g: Galaxy, mode: ModeConfig, ml_disk: float = 1.0, ml_bulge: float = 1.0) -> np.ndarray:
    """v_bar = sqrt(max(0, v_bar^2)) [km/s] (see :func:`baryonic_v2`)."""
    return np.sqrt(np.maximum(0.0, baryonic_v2(g, mode, ml_disk, ml_bulge)))


def passes_quality_gate(g: Galaxy, mode: ModeConfig) -> bool:
    """The "Q == 1" gate: always true in compat (a missing Q counts as 1); SPARC Q <= q1_max_flag otherwise."""
    if mode.quality_gate == "missing_counts_as_q1":
        return True
    return g.q_flag is not None and g.q_flag <= mode.q1_max_flag


def subset_names(
    master: Mapping[str, Galaxy],
    mode: ModeConfig,
    cohort: Literal["Q1", "FULL"] = "Q1",
    min_points: int | None = None,
) -> list[str]:
    """Names of the cohort in master order (spec 2.3).

    Q1: passes the quality gate and keeps at least 7 finite points with r >= 0.3 R_d (this is the "156" in
    compat mode). FULL: no gate, at least 5 such points (171 in compat).
    """
    need = min_points if min_points is not None else (MIN_POINTS_Q1 if cohort == "Q1" else MIN_POINTS_FULL)
    names = []
    for name, g in master.items():
        if cohort == "Q1" and not passes_quality_gate(g, mode):
            continue
        ok = np.isfinite(g.r_kpc) & np.isfinite(g.v_obs) & (g.r_kpc >= MASK_RD_FRACTION * g.R_d_kpc)
        if np.count_nonzero(ok) >= need:
            names.append(name)
    return names


def select(master: Master, names: list[str] | None) -> Master:
    """Sub-master with ``names`` (kept in master order); ``None`` returns ``master`` itself.

    Names absent from the master raise ``KeyError`` listing them.
    """
    if names is None:
        return master
    missing = [n for n in names if n not in master]
    if missing:
        raise KeyError(f"galaxies not in the master table: {missing}")
    return replace(master, galaxies={n: master[n] for n in population(master, names)})


def master_to_frame(master: Mapping[str, Galaxy]) -> pd.DataFrame:
    """One row per galaxy with its scalars (column names follow ``sparc_master_scalars.csv``, plus extras)."""
    rows = []
    for g in master.values():
        rows.append({
            "galaxy": g.name, "n_points": g.n_points, "R_d_kpc": g.R_d_kpc, "f_gas_true": g.f_gas_true,
            "M_gas_est_Msun": g.M_gas_est, "M_star_est_Msun": g.M_star_est, "M_HI_Msun": g.M_HI,
            "M_H2_Msun": g.M_H2, "Sigma_0": g.Sigma_0, "n_points_r_ge_0p3Rd": g.n_points_r_ge_0p3Rd,
            "R_d_heuristic_kpc": g.R_d_heuristic_kpc, "R_d_catalog_kpc": g.R_d_catalog_kpc,
            "R_d_source": g.R_d_source, "f_gas": g.f_gas, "f_gas_proxy": g.f_gas_proxy,
            "q_flag": g.q_flag if g.q_flag is not None else pd.NA, "distance_mpc": g.distance_mpc,
            "dwarf_sigma0": g.dwarf_sigma0,
        })  # fmt: skip
    df = pd.DataFrame(rows)
    if len(df):
        df["q_flag"] = df["q_flag"].astype("Int64")
    return df
