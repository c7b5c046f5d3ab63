"""Lens and source parameter priors (successor engine, spec §2.8) and COSMOS-like sources.

Draws are deterministic maps of per-row uniforms (:func:`dhs_inject.sampling.row_uniforms`);
each parameter owns a fixed uniform slot (:data:`UNIFORM_SLOTS`) so changing a mode never shifts
another parameter's draw. Normals use the inverse CDF (``scipy.special.ndtri``).

Defaults (``PriorConfig()``), the successor's corrected physics, **not tied to the host's magnitude**:

- lens: SIE, θ_E ~ U[0.5, 2.5]″ (when no grid fixes it; the spec gives no θ_E prior — this is
  grid_sota's range), q ~ U[0.5, 1], φ ~ U[0, π), external shear γ1, γ2 ~ N(0, 0.05),
  centre jitter N(0, 0.05″) per axis;
- source: Sérsic n ~ U[0.5, 2], R_sersic ~ U[0.15, 0.5]″, q ~ U[0.3, 1], φ ~ U[0, π),
  r ~ U[23, 26] mag, g − r ~ N(1.15, 0.30), r − z ~ N(0.85, 0.20), offset from the lens centre
  β = θ_E √U(0.1², 0.4²) (area-weighted) at angle U[0, 2π).

Conventions (lenstronomy): ``e = (1 − q)/(1 + q)``, ``e1 = e cos 2φ``, ``e2 = e sin 2φ``
(``lenstronomy.Util.param_util.phi_q2_ellipticity``); ``R_sersic`` is lenstronomy's
``SERSIC_ELLIPSE`` radius, i.e. the circularised half-light radius √(a b). Shear
``γ1 = γ cos 2φ_γ``, ``γ2 = γ sin 2φ_γ``. Source fluxes (nMgy) ``f_b = 10^{-0.4 (m_b − 22.5)}``
with ``m_g = m_r + (g − r)``, ``m_z = m_r − (r − z)``; no Galactic extinction is applied.

COSMOS-like sources (``source_prior="cosmos"``): a row picks one galaxy (uniformly, by its slot)
of the parametric Sérsic fits of GalSim's COSMOS F814W < 23.5 example catalogue
(``real_galaxy_catalog_23.5_example_fits.fits``; ``sersicfit`` = [I(hlr), hlr_major (0.03″ px), n,
q, boxiness, x0, y0, φ], Mandelbaum et al. 2012; GalSim ``COSMOSCatalog``): n (clipped to
[0.3, 6.2], GalSim's range), R_sersic = 0.03″ · hlr_major · √q, q, and r mag = ``mag_auto``
(F814W taken as r); colours still come from the priors; orientation is drawn per row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from astropy.table import Table
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.special import ndtri

from dhs_inject.bands import mag_to_nmgy

__all__ = ["UNIFORM_SLOTS", "N_UNIFORMS", "LensPrior", "SourcePrior", "PriorConfig", "ellipticity_from_q_phi",
           "q_from_upstream_e", "read_cosmos_parametric", "draw_parameters", "PARAMETER_COLUMNS"]

UNIFORM_SLOTS: dict[str, int] = {name: i for i, name in enumerate((
    "theta_E", "lens_q", "lens_phi", "shear_1", "shear_2", "lens_cx", "lens_cy", "src_n", "src_R", "src_q",
    "src_phi", "src_mag", "src_gr", "src_rz", "beta_r", "beta_angle", "cosmos_index", "shear_phi",
    "control_pick", "accept"))}
"""Uniform slot of each draw; ``accept`` is reserved for arc-SNR rejection sampling."""
N_UNIFORMS = len(UNIFORM_SLOTS)

PARAMETER_COLUMNS: tuple[str, ...] = (
    "lens_model", "lens_theta_E", "lens_q", "lens_phi", "lens_e1", "lens_e2", "lens_center_x", "lens_center_y",
    "shear_gamma1", "shear_gamma2", "source_model", "src_R_sersic", "src_n_sersic", "src_q", "src_phi",
    "src_e1", "src_e2", "src_center_x", "src_center_y", "src_beta_arcsec", "src_mag_r", "src_gr", "src_rz",
    "src_flux_g", "src_flux_r", "src_flux_z", "cosmos_index")
"""Columns :func:`draw_parameters` returns (store-contract names where the contract has them)."""

Range = tuple[float, float]


def _ordered(r: Range, name: str) -> None:
    if not r[0] <= r[1]:
        raise ValueError(f"{name}={r}: lower bound above upper bound")


class LensPrior(BaseModel):
    """Lens priors: uniform ranges (lo, hi), Gaussian sigmas (arcsec / dimensionless)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    theta_E: Range = (0.5, 2.5)
    q: Range = (0.5, 1.0)
    shear_sigma: float = Field(0.05, ge=0)
    center_sigma_arcsec: float = Field(0.05, ge=0)

    @model_validator(mode="after")
    def _check(self) -> "LensPrior":
        _ordered(self.theta_E, "theta_E")
        _ordered(self.q, "q")
        if self.theta_E[0] < 0 or not (0 < self.q[0] and self.q[1] <= 1):
            raise ValueError(f"theta_E={self.theta_E} must be >= 0 and q={self.q} inside (0, 1]")
        return self


class SourcePrior(BaseModel):
    """Source priors: uniform ranges (lo, hi), Gaussians (mean, sigma)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    n_sersic: Range = (0.5, 2.0)
    R_sersic_arcsec: Range = (0.15, 0.5)
    q: Range = (0.3, 1.0)
    mag_r: Range = (23.0, 26.0)
    g_minus_r: tuple[float, float] = (1.15, 0.30)
    r_minus_z: tuple[float, float] = (0.85, 0.20)
    beta_over_theta_E: Range = (0.1, 0.4)

    @model_validator(mode="after")
    def _check(self) -> "SourcePrior":
        for name in ("n_sersic", "R_sersic_arcsec", "q", "mag_r", "beta_over_theta_E"):
            _ordered(getattr(self, name), name)
        if self.n_sersic[0] <= 0 or self.R_sersic_arcsec[0] <= 0 or not (0 < self.q[0] and self.q[1] <= 1):
            raise ValueError("n_sersic and R_sersic_arcsec must be > 0 and q inside (0, 1]")
        return self


class PriorConfig(BaseModel):
    """Which priors a manifest draws from.

    ``source_prior``: "sersic" (the successor priors) or "cosmos" (COSMOS parametric fits, file
    ``cosmos_path``). ``source_mag``: "prior" (default, r ~ U[23, 26]) or "host_dmag" (upstream:
    host r mag + the grid's ``src_dmag``; needs a grid).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    lens: LensPrior = LensPrior()
    source: SourcePrior = SourcePrior()
    source_prior: Literal["sersic", "cosmos"] = "sersic"
    source_mag: Literal["prior", "host_dmag"] = "prior"
    cosmos_path: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "PriorConfig":
        if self.source_prior == "cosmos" and not self.cosmos_path:
            raise ValueError("source_prior='cosmos' needs cosmos_path (the *_fits.fits parametric catalogue)")
        return self


def ellipticity_from_q_phi(q: ArrayLike, phi: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """lenstronomy ellipticity ``e = (1 − q)/(1 + q)``, ``(e1, e2) = e (cos 2φ, sin 2φ)``."""
    q = np.asarray(q, np.float64)
    phi = np.asarray(phi, np.float64)
    e = (1.0 - q) / (1.0 + q)
    return e * np.cos(2.0 * phi), e * np.sin(2.0 * phi)


def q_from_upstream_e(e: ArrayLike) -> np.ndarray:
    """Axis ratio of the upstream ellipticity: ``q = (1 − e)/(1 + e)`` clipped to [0.2, 0.999] (spec §2.4)."""
    e = np.asarray(e, np.float64)
    return np.clip((1.0 - e) / (1.0 + e), 0.2, 0.999)


def read_cosmos_parametric(path: str | Path) -> pd.DataFrame:
    """Viable Sérsic fits of a GalSim COSMOS ``*_fits.fits`` catalogue.

    Returns
    -------
    pandas.DataFrame with ``ident``, ``n_sersic``, ``R_sersic_arcsec`` (circularised), ``q``,
    ``phi`` (rad), ``mag`` (F814W ``mag_auto``); rows with ``viable_sersic == 0`` or non-finite
    values dropped.

    Raises
    ------
    ValueError
        If a needed column is missing or no viable fit remains (names the file).
    """
    table = Table.read(path)
    need = ["IDENT", "mag_auto", "sersicfit"]
    missing = [c for c in need if c not in table.colnames]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing} of a COSMOS parametric-fit catalogue")
    fit = np.asarray(table["sersicfit"], np.float64)
    q = fit[:, 3]
    frame = pd.DataFrame({"ident": np.asarray(table["IDENT"]), "n_sersic": np.clip(fit[:, 2], 0.3, 6.2),
                          "R_sersic_arcsec": 0.03 * fit[:, 1] * np.sqrt(np.abs(q)), "q": q, "phi": fit[:, 7],
                          "mag": np.asarray(table["mag_auto"], np.float64)})
    ok = np.isfinite(frame[["n_sersic", "R_sersic_arcsec", "q", "mag"]]).all(axis=1) & (frame["q"] > 0) \
        & (frame["q"] <= 1) & (frame["R_sersic_arcsec"] > 0)
    if "viable_sersic" in table.colnames:
        ok &= np.asarray(table["viable_sersic"]) != 0
    frame = frame.loc[ok.to_numpy()].reset_index(drop=True)
    if frame.empty:
        raise ValueError(f"{path}: no viable Sérsic fit")
    return frame


def _uniform(u: np.ndarray, r: Range) -> np.ndarray:
    return r[0] + u * (r[1] - r[0])


def _axis(values: ArrayLike | None, n: int) -> np.ndarray:
    return np.full(n, np.nan) if values is None else np.asarray(values, np.float64)


def draw_parameters(uniforms: np.ndarray, cfg: PriorConfig = PriorConfig(), *,
                    theta_E: ArrayLike | None = None, src_reff: ArrayLike | None = None,
                    src_e: ArrayLike | None = None, shear: ArrayLike | None = None,
                    src_dmag: ArrayLike | None = None, host_r_mag: ArrayLike | None = None,
                    cosmos: pd.DataFrame | None = None) -> pd.DataFrame:
    """Lens, shear and source parameters of N injected rows.

    Parameters
    ----------
    uniforms : float (N, N_UNIFORMS), per-row uniforms (slots :data:`UNIFORM_SLOTS`).
    cfg : PriorConfig
    theta_E, src_reff, src_e, shear, src_dmag : (N,) optional grid values; NaN or None → prior.
        ``src_reff`` is R_sersic (″), ``src_e`` the upstream source ellipticity (→ q), ``shear`` |γ|.
    host_r_mag : (N,) host r mag, needed with ``cfg.source_mag == "host_dmag"``.
    cosmos : the output of :func:`read_cosmos_parametric` (loaded from ``cfg.cosmos_path`` if None).

    Returns
    -------
    pandas.DataFrame with :data:`PARAMETER_COLUMNS` (angles in arcsec or radians, fluxes nMgy).

    Raises
    ------
    ValueError
        If ``uniforms`` has the wrong shape, or ``host_dmag`` lacks ``src_dmag``/``host_r_mag``.
    """
    u = np.asarray(uniforms, np.float64)
    if u.ndim != 2 or u.shape[1] < N_UNIFORMS:
        raise ValueError(f"uniforms shape {u.shape}: expected (N, {N_UNIFORMS})")
    n = u.shape[0]
    S = UNIFORM_SLOTS
    lp, sp = cfg.lens, cfg.source
    th = _axis(theta_E, n)
    th = np.where(np.isnan(th), _uniform(u[:, S["theta_E"]], lp.theta_E), th)
    lens_q = _uniform(u[:, S["lens_q"]], lp.q)
    lens_phi = np.pi * u[:, S["lens_phi"]]
    le1, le2 = ellipticity_from_q_phi(lens_q, lens_phi)
    cx = lp.center_sigma_arcsec * ndtri(u[:, S["lens_cx"]])
    cy = lp.center_sigma_arcsec * ndtri(u[:, S["lens_cy"]])
    gmag = _axis(shear, n)
    gphi = np.pi * u[:, S["shear_phi"]]
    g1 = np.where(np.isnan(gmag), lp.shear_sigma * ndtri(u[:, S["shear_1"]]), gmag * np.cos(2 * gphi))
    g2 = np.where(np.isnan(gmag), lp.shear_sigma * ndtri(u[:, S["shear_2"]]), gmag * np.sin(2 * gphi))
    src_phi = np.pi * u[:, S["src_phi"]]
    cosmos_index = np.full(n, -1, np.int64)
    if cfg.source_prior == "cosmos":
        bank = read_cosmos_parametric(cfg.cosmos_path) if cosmos is None else cosmos
        cosmos_index = np.minimum((u[:, S["cosmos_index"]] * len(bank)).astype(np.int64), len(bank) - 1)
        src_n = bank["n_sersic"].to_numpy()[cosmos_index]
        src_R = bank["R_sersic_arcsec"].to_numpy()[cosmos_index]
        src_q = bank["q"].to_numpy()[cosmos_index]
        mag_r = bank["mag"].to_numpy()[cosmos_index]
    else:
        src_n = _uniform(u[:, S["src_n"]], sp.n_sersic)
        src_R = _uniform(u[:, S["src_R"]], sp.R_sersic_arcsec)
        src_q = _uniform(u[:, S["src_q"]], sp.q)
        mag_r = _uniform(u[:, S["src_mag"]], sp.mag_r)
    reff = _axis(src_reff, n)
    src_R = np.where(np.isnan(reff), src_R, reff)
    se = _axis(src_e, n)
    src_q = np.where(np.isnan(se), src_q, q_from_upstream_e(np.nan_to_num(se)))
    if cfg.source_mag == "host_dmag":
        if src_dmag is None or host_r_mag is None:
            raise ValueError("source_mag='host_dmag' needs the grid's src_dmag and the host r magnitude")
        mag_r = np.asarray(host_r_mag, np.float64) + np.asarray(src_dmag, np.float64)
    se1, se2 = ellipticity_from_q_phi(src_q, src_phi)
    gr = sp.g_minus_r[0] + sp.g_minus_r[1] * ndtri(u[:, S["src_gr"]])
    rz = sp.r_minus_z[0] + sp.r_minus_z[1] * ndtri(u[:, S["src_rz"]])
    lo, hi = sp.beta_over_theta_E
    beta = th * np.sqrt(lo**2 + u[:, S["beta_r"]] * (hi**2 - lo**2))
    ang = 2.0 * np.pi * u[:, S["beta_angle"]]
    return pd.DataFrame({
        "lens_model": "SIE", "lens_theta_E": th, "lens_q": lens_q, "lens_phi": lens_phi,
        "lens_e1": le1, "lens_e2": le2, "lens_center_x": cx, "lens_center_y": cy,
        "shear_gamma1": g1, "shear_gamma2": g2, "source_model": "SERSIC_ELLIPSE",
        "src_R_sersic": src_R, "src_n_sersic": src_n, "src_q": src_q, "src_phi": src_phi,
        "src_e1": se1, "src_e2": se2, "src_center_x": cx + beta * np.cos(ang), "src_center_y": cy + beta * np.sin(ang),
        "src_beta_arcsec": beta, "src_mag_r": mag_r, "src_gr": gr, "src_rz": rz,
        "src_flux_g": mag_to_nmgy(mag_r + gr), "src_flux_r": mag_to_nmgy(mag_r), "src_flux_z": mag_to_nmgy(mag_r - rz),
        "cosmos_index": cosmos_index,
    })
