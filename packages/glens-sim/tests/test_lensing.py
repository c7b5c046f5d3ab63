"""Lens-level maps (SIE + SHEAR) against lenstronomy; the effective Einstein radius."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glens_sim.grid import pixel_grid
from glens_sim.lensing import (convergence_map, lens_hessian, magnification_map, ray_shoot,
                               shear_map, total_deflection)

pytest.importorskip("lenstronomy")
from lenstronomy.LensModel.lens_model import LensModel  # noqa: E402

SIE = dict(theta_E=1.2, e1=0.15, e2=-0.1, center_x=0.04, center_y=-0.03)
SHEAR = dict(gamma1=0.04, gamma2=-0.03)


def _points():
    x, y = pixel_grid(64, 0.262, 2, dtype=torch.float64, sparse=False)
    return x.numpy().ravel(), y.numpy().ravel()


def test_sie_shear_deflection_and_hessian_match_lenstronomy():
    x, y = _points()
    lenses = [("SIE", SIE), ("SHEAR", SHEAR)]
    bx, by = ray_shoot(x, y, lenses)
    rx, ry = LensModel(["SIE", "SHEAR"]).ray_shooting(x, y, [SIE, SHEAR])
    assert np.max(np.hypot(bx - rx, by - ry) / np.maximum(np.hypot(rx, ry), 1e-3)) < 1e-6
    # lenstronomy's SIE hessian is a 1e-10 finite difference; its EPL (gamma = 2) is analytic
    ref = np.array(LensModel(["EPL", "SHEAR"]).hessian(x, y, [dict(SIE, gamma=2.0), SHEAR]))
    ours = np.array(lens_hessian(x, y, lenses))
    scale = np.max(np.abs(ref), axis=0)
    away = np.hypot(x - SIE["center_x"], y - SIE["center_y"]) > 1e-2
    assert np.max(np.abs(ours - ref)[:, away] / scale[away]) < 1e-6
    kappa = convergence_map(x, y, lenses)
    g1, g2 = shear_map(x, y, lenses)
    mu = magnification_map(x, y, lenses)
    lm = LensModel(["EPL", "SHEAR"])
    kw = [dict(SIE, gamma=2.0), SHEAR]
    np.testing.assert_allclose(kappa[away], lm.kappa(x, y, kw)[away], rtol=1e-6)
    rg1, rg2 = lm.gamma(x, y, kw)
    np.testing.assert_allclose(g1[away], rg1[away], atol=1e-6 * np.abs(rg1).max())
    np.testing.assert_allclose(g2[away], rg2[away], atol=1e-6 * np.abs(rg2).max())
    ref_mu = lm.magnification(x, y, kw)
    finite = away & (np.abs(ref_mu) < 1e3)  # away from the critical curves
    np.testing.assert_allclose(mu[finite], ref_mu[finite], rtol=1e-5)


def test_per_sample_batch_equals_one_by_one_in_float32():
    x, y = pixel_grid(32, 0.262, 1)
    theta = torch.tensor([0.8, 1.5, 2.0])
    e1 = torch.tensor([0.0, 0.2, -0.1])
    lenses = [("SIE", dict(theta_E=theta, e1=e1, e2=torch.zeros(3), center_x=torch.zeros(3),
                           center_y=torch.zeros(3))),
              ("SHEAR", dict(gamma1=torch.full((3,), 0.02), gamma2=torch.zeros(3)))]
    ax, ay = total_deflection(x, y, lenses)
    f = lens_hessian(x, y, lenses)
    assert ax.shape == (3, 32, 32) and ax.dtype == torch.float32 and f[0].shape == (3, 32, 32)
    for i in range(3):
        one = [("SIE", dict(theta_E=float(theta[i]), e1=float(e1[i]), e2=0.0)),
               ("SHEAR", dict(gamma1=0.02, gamma2=0.0))]
        bx, by = total_deflection(x, y, one)
        np.testing.assert_allclose(ax[i].numpy(), bx.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(ay[i].numpy(), by.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("q", [1.0, 0.8, 0.5, 0.3])
def test_effective_einstein_radius_is_theta_e_for_every_q(q):
    """Spec §0.3: the area with kappa > 1/2 is pi theta_E^2 (the original code's SIE gave
    theta_E/sqrt(q)); rotated lenses too."""
    theta_E, step = 1.0, 0.01
    c = (1 - q) / (1 + q)
    x, y = pixel_grid(801, step, 1, dtype=torch.float64)
    for phi in (0.0, 0.7):
        kappa = convergence_map(x, y, [("SIE", dict(theta_E=theta_E, e1=c * np.cos(2 * phi),
                                                    e2=c * np.sin(2 * phi)))])
        area = float((kappa > 0.5).sum()) * step**2
        assert np.sqrt(area / np.pi) == pytest.approx(theta_E, rel=3e-3)


def test_empty_lens_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        lens_hessian(np.zeros(2), np.zeros(2), [])
