"""Lens profiles against lenstronomy (the test-only reference implementation)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glens_sim
from glens_sim import convergence, deflection

lenstronomy = pytest.importorskip("lenstronomy")
from lenstronomy.LensModel.lens_model import LensModel  # noqa: E402
from lenstronomy.LensModel.Profiles.nie import NIE, NIEMajorAxis  # noqa: E402

RTOL = 1e-7

CASES = {
    "SIS": [dict(theta_E=0.7), dict(theta_E=1.3, center_x=0.1, center_y=-0.2),
            dict(theta_E=0.05, center_x=-0.6, center_y=0.4)],
    "SIE": [dict(theta_E=0.7, e1=0.2, e2=-0.1, center_x=0.1, center_y=-0.2),
            dict(theta_E=1.1, e1=-0.35, e2=0.3),
            dict(theta_E=0.5, e1=0.0, e2=0.05, center_x=0.3),
            dict(theta_E=0.5, e1=0.0, e2=0.0)],
    "NFW": [dict(Rs=0.8, alpha_Rs=0.3, center_x=0.1, center_y=-0.2),
            dict(Rs=0.05, alpha_Rs=0.02), dict(Rs=3.0, alpha_Rs=1.5, center_y=0.5)],
    "TNFW": [dict(Rs=0.8, alpha_Rs=0.3, r_trunc=2.0, center_x=0.1, center_y=-0.2),
             dict(Rs=0.05, alpha_Rs=0.05, r_trunc=0.2, center_x=0.6),
             dict(Rs=1.0, alpha_Rs=0.5, r_trunc=0.5)],
    "SHEAR": [dict(gamma1=0.05, gamma2=-0.03), dict(gamma1=-0.1, gamma2=0.07, ra_0=0.2,
                                                    dec_0=-0.3)],
}


def _points(n: int = 6000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random points over several decades of radius plus a regular grid."""
    rng = np.random.default_rng(seed)
    r = 10 ** rng.uniform(-3, 0.8, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    gx, gy = np.meshgrid(np.linspace(-2, 2, 41), np.linspace(-2, 2, 41))
    return (np.concatenate([r * np.cos(phi), gx.ravel()]),
            np.concatenate([r * np.sin(phi), gy.ravel()]))


def _cases():
    for name, kwargs_list in CASES.items():
        for i, kwargs in enumerate(kwargs_list):
            yield pytest.param(name, kwargs, id=f"{name}-{i}")


def _rel(a, b, scale) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)) / scale))


@pytest.mark.parametrize(("name", "kwargs"), list(_cases()))
def test_deflection_matches_lenstronomy(name, kwargs):
    x, y = _points()
    ref_x, ref_y = LensModel([name]).alpha(x, y, [kwargs])
    # relative error; where |alpha| < 1e-6 max|alpha| (only at a profile's exact centre, where
    # lenstronomy's NFW g(X) itself cancels catastrophically) the comparison is absolute
    magnitude = np.hypot(ref_x, ref_y)
    scale = np.maximum(magnitude, 1e-6 * magnitude.max())
    if name == "NFW":
        # lenstronomy's arccosh(1/X)/sqrt(1-X^2) is 0/0 at X -> 1 (it returns 2.3x the true
        # deflection at X = 1 - 1e-16); those points are checked against alpha_Rs below
        X = np.hypot(x - kwargs.get("center_x", 0.0), y - kwargs.get("center_y", 0.0))
        near_rs = np.abs(X / kwargs["Rs"] - 1) < 1e-6
        scale[near_rs] = np.inf
    ax, ay = deflection(name, x, y, **kwargs)
    assert isinstance(ax, np.ndarray) and ax.dtype == np.float64
    assert _rel(ax, ref_x, scale) < RTOL and _rel(ay, ref_y, scale) < RTOL
    tx, ty = deflection(name, torch.from_numpy(x), torch.from_numpy(y), **kwargs)
    assert tx.dtype == torch.float64
    assert _rel(tx.numpy(), ref_x, scale) < RTOL and _rel(ty.numpy(), ref_y, scale) < RTOL
    fx, fy = deflection(name, torch.from_numpy(x).float(), torch.from_numpy(y).float(),
                        **kwargs)
    assert fx.dtype == torch.float32
    # float32: relative to the deflection scale of the field, away from the centre where the
    # direction of a float32-rounded offset is undefined
    field = np.max(np.hypot(ref_x, ref_y))
    away = np.hypot(x - kwargs.get("center_x", 0.0), y - kwargs.get("center_y", 0.0)) > 1e-4
    away &= np.isfinite(scale)
    assert np.max(np.abs(fx.numpy() - ref_x)[away]) < 1e-4 * field
    assert np.max(np.abs(fy.numpy() - ref_y)[away]) < 1e-4 * field


@pytest.mark.parametrize(("name", "kwargs"), [c for c in _cases() if c.values[0] != "SIE"])
def test_convergence_matches_lenstronomy(name, kwargs):
    x, y = _points(seed=1)
    ref = LensModel([name]).kappa(x, y, [kwargs])
    ours = convergence(name, x, y, **kwargs)
    scale = np.maximum(np.abs(ref), max(1e-6 * np.abs(ref).max(), 1e-300))
    if "Rs" in kwargs:
        # lenstronomy's (1 - F(X))/(X^2 - 1) is 0/0 at R -> Rs (garbage within ~1e-12 of it);
        # those points are checked for continuity in test_nfw_convergence_is_smooth_at_rs
        X = np.hypot(x - kwargs.get("center_x", 0.0), y - kwargs.get("center_y", 0.0))
        scale[np.abs(X / kwargs["Rs"] - 1) < 1e-6] = np.inf
    assert _rel(ours, ref, scale) < RTOL
    t = convergence(name, torch.from_numpy(x), torch.from_numpy(y), **kwargs)
    assert _rel(t.numpy(), ref, scale) < RTOL


@pytest.mark.parametrize("kwargs", CASES["SIE"], ids=[str(i) for i in range(len(CASES["SIE"]))])
def test_sie_convergence_is_lenstronomy_closed_form(kwargs):
    """lenstronomy's LensModel.kappa for SIE is a 1e-10 finite difference; compare with its
    analytic NIEMajorAxis.kappa (after its own parameter conversion) to 1e-7, and with the
    finite difference loosely."""
    x, y = _points(seed=2)
    kw = dict(kwargs)
    cx, cy = kw.pop("center_x", 0.0), kw.pop("center_y", 0.0)
    b, s, q, phi = NIE().param_conv(kw["theta_E"], kw["e1"], kw["e2"], 1e-10)
    c, sn = np.cos(phi), np.sin(phi)
    xr = (x - cx) * c + (y - cy) * sn
    yr = -(x - cx) * sn + (y - cy) * c
    ref = NIEMajorAxis.kappa(xr, yr, b, s, q)
    ours = convergence("SIE", x, y, **kwargs)
    assert _rel(ours, ref, ref) < RTOL
    numeric = LensModel(["SIE"]).kappa(x, y, [kwargs])
    assert np.median(np.abs(ours - numeric) / ours) < 1e-4


def test_sie_uses_sqrt_q_normalisation():
    """theta_E is the product-averaged Einstein radius: b = theta_E sqrt(q) (the original's
    bug was b = theta_E), so kappa = 1/2 on the ellipse sqrt(q x^2 + y^2/q) = theta_E."""
    theta_E, e1 = 0.8, 0.3
    q = (1 - e1) / (1 + e1)
    t = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    # ellipse q x^2 + y^2/q = theta_E^2 in the frame of the major axis (phi = 0 for e2 = 0)
    x = theta_E / np.sqrt(q) * np.cos(t)
    y = theta_E * np.sqrt(q) * np.sin(t)
    kappa = convergence("SIE", x, y, theta_E=theta_E, e1=e1, e2=0.0)
    np.testing.assert_allclose(kappa, 0.5, rtol=1e-8)


def test_nfw_deflection_at_rs_is_alpha_rs():
    """By definition |alpha(R = Rs)| = alpha_Rs, also for points a rounding error from Rs."""
    Rs, alpha_Rs, cx = 0.8, 0.3, 0.1
    x = np.array([cx + Rs, cx - Rs, -0.7, 0.9, cx + Rs * (1 + 1e-9)])
    y = np.zeros_like(x)
    for xs, ys in ((x, y), (torch.from_numpy(x), torch.from_numpy(y)),
                   (torch.from_numpy(x).float(), torch.from_numpy(y).float())):
        ax, ay = deflection("NFW", xs, ys, Rs=Rs, alpha_Rs=alpha_Rs, center_x=cx)
        np.testing.assert_allclose(np.abs(np.asarray(ax)), alpha_Rs, rtol=1e-6)


@pytest.mark.parametrize("name", ["NFW", "TNFW"])
def test_nfw_convergence_is_smooth_at_rs(name):
    """Across R = Rs the convergence is smooth: a cubic through points 1e-3..1e-1 away
    predicts the values within 1e-12..1e-3 of Rs (where lenstronomy's form is 0/0)."""
    kwargs = dict(Rs=0.7, alpha_Rs=0.4) | ({"r_trunc": 1.5} if name == "TNFW" else {})
    far = np.concatenate([-np.geomspace(1e-1, 1e-3, 8), np.geomspace(1e-3, 1e-1, 8)])
    near = np.concatenate([-np.geomspace(1e-3, 1e-12, 10), [0.0], np.geomspace(1e-12, 1e-3, 10)])
    k_far = convergence(name, 0.7 * (1 + far), np.zeros_like(far), **kwargs)
    k_near = convergence(name, 0.7 * (1 + near), np.zeros_like(near), **kwargs)
    fit = np.polyval(np.polyfit(far, k_far, 5), near)
    np.testing.assert_allclose(k_near, fit, rtol=1e-6)
    t = convergence(name, torch.tensor(0.7 * (1 + near)), torch.zeros(near.size,
                    dtype=torch.float64), **kwargs)
    np.testing.assert_allclose(t.numpy(), k_near, rtol=1e-12)


def test_sie_reduces_to_sis_when_round():
    x, y = _points(500)
    ax, ay = deflection("SIE", x, y, theta_E=0.6, e1=0.0, e2=0.0)
    bx, by = deflection("SIS", x, y, theta_E=0.6)
    np.testing.assert_allclose(np.hypot(ax - bx, ay - by), 0, atol=1e-6)


def test_per_sample_parameters_broadcast_like_a_loop():
    x = torch.linspace(-1, 1, 17, dtype=torch.float64)[None, None, :]
    y = torch.linspace(-1, 1, 13, dtype=torch.float64)[None, :, None]
    theta = torch.tensor([0.3, 0.5, 0.7], dtype=torch.float64)
    e1 = torch.tensor([0.1, -0.2, 0.0], dtype=torch.float64)
    ax, ay = deflection("SIE", x, y, theta_E=theta[:, None, None], e1=e1[:, None, None],
                        e2=0.05)
    assert ax.shape == (3, 13, 17)
    for i in range(3):
        bx, by = deflection("SIE", x[0], y[0], theta_E=float(theta[i]), e1=float(e1[i]),
                            e2=0.05)
        torch.testing.assert_close(ax[i], bx, rtol=0, atol=1e-15)
        torch.testing.assert_close(ay[i], by, rtol=0, atol=1e-15)


def test_centre_values_are_finite_and_zero_for_sis():
    zero = np.zeros(1)
    assert deflection("SIS", zero, zero, theta_E=1.0) == (0.0, 0.0)
    assert convergence("SIS", zero, zero, theta_E=1.0) == 0.0
    for name, kwargs in (("NFW", CASES["NFW"][0]), ("TNFW", CASES["TNFW"][0])):
        cx, cy = kwargs.get("center_x", 0.0), kwargs.get("center_y", 0.0)
        ax, ay = deflection(name, np.array([cx]), np.array([cy]), **kwargs)
        assert np.isfinite(ax).all() and np.isfinite(ay).all()
        ref = LensModel([name]).alpha(np.array([cx]), np.array([cy]), [kwargs])
        np.testing.assert_allclose([ax[0], ay[0]], [ref[0][0], ref[1][0]], atol=1e-12)
    t = torch.zeros(3, dtype=torch.float32)
    tx, ty = deflection("SIS", t, t, theta_E=1e3)
    assert torch.equal(tx, t) and torch.equal(ty, t)


def test_errors_name_the_problem():
    x = np.zeros(2)
    with pytest.raises(ValueError, match="unknown lens profile 'EPL'"):
        deflection("EPL", x, x, theta_E=1.0)
    with pytest.raises(TypeError, match="unexpected keyword.*'gamma'"):
        deflection("SIS", x, x, theta_E=1.0, gamma=2.0)
    with pytest.raises(TypeError, match="missing required keyword.*'r_trunc'"):
        convergence("TNFW", x, x, Rs=1.0, alpha_Rs=1.0)
    assert glens_sim.PROFILES == ("SIS", "SIE", "NFW", "TNFW", "SHEAR")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    x, y = _points(2000)
    for name, kwargs_list in CASES.items():
        kwargs = kwargs_list[0]
        cpu = deflection(name, torch.from_numpy(x), torch.from_numpy(y), **kwargs)
        gpu = deflection(name, torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda(), **kwargs)
        for a, b in zip(cpu, gpu):
            assert b.device.type == "cuda"
            torch.testing.assert_close(b.cpu(), a, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Hessian (issue 7 §1) and autograd / float32 faults (issue 12)
# ---------------------------------------------------------------------------------------------
from lenstronomy.LensModel.Profiles.epl import EPL  # noqa: E402

from glens_sim.profiles import hessian  # noqa: E402


def _hessian_reference(name, kwargs, x, y):
    """lenstronomy's hessian. Its SIE hessian is a one-sided 1e-10 finite difference (~1e-5
    relative error), so the SIE reference is its analytic EPL at gamma = 2 (the same lens,
    without the 1e-10 core smoothing)."""
    if name == "SIE":
        with np.errstate(invalid="ignore", divide="ignore"):  # EPL is 0/0 at its centre
            return EPL().hessian(x, y, gamma=2.0, **kwargs)
    return LensModel([name]).hessian(x, y, [kwargs])


@pytest.mark.parametrize(("name", "kwargs"), list(_cases()))
def test_hessian_matches_lenstronomy(name, kwargs):
    x, y = _points(2000, seed=4)
    ref = np.array(_hessian_reference(name, kwargs, x, y))
    away = np.hypot(x - kwargs.get("center_x", 0.0), y - kwargs.get("center_y", 0.0)) > 1e-2
    if "Rs" in kwargs:  # lenstronomy's NFW forms are 0/0 at R -> Rs (see above)
        X = np.hypot(x - kwargs.get("center_x", 0.0), y - kwargs.get("center_y", 0.0))
        away &= np.abs(X / kwargs["Rs"] - 1) > 1e-4
    scale = np.max(np.abs(ref[:, away]), axis=0)
    for inputs in ((x, y), (torch.from_numpy(x), torch.from_numpy(y))):
        ours = np.array([np.asarray(h) * np.ones_like(x) for h in hessian(name, *inputs,
                                                                           **kwargs)])
        assert np.max(np.abs(ours - ref)[:, away] / scale) < 1e-6
    if name == "SIE":  # and loosely against lenstronomy's own finite-difference SIE hessian
        fd = np.array(LensModel(["SIE"]).hessian(x, y, [kwargs]))
        assert np.median(np.abs(ours - fd)[:, away] / scale) < 1e-4


@pytest.mark.parametrize("kwargs", CASES["SIE"], ids=[str(i) for i in range(len(CASES["SIE"]))])
def test_sie_hessian_is_the_derivative_of_its_deflection(kwargs):
    x, y = _points(500, seed=5)
    far = np.hypot(x - kwargs.get("center_x", 0.0), y - kwargs.get("center_y", 0.0)) > 0.05
    x, y, h = x[far], y[far], 1e-5
    f_xx, f_xy, f_yx, f_yy = hessian("SIE", x, y, **kwargs)
    (axp, ayp), (axm, aym) = (deflection("SIE", x + h, y, **kwargs),
                              deflection("SIE", x - h, y, **kwargs))
    (bxp, byp), (bxm, bym) = (deflection("SIE", x, y + h, **kwargs),
                              deflection("SIE", x, y - h, **kwargs))
    scale = np.abs(f_xx) + np.abs(f_yy)
    for ours, fd in ((f_xx, (axp - axm) / 2 / h), (f_xy, (bxp - bxm) / 2 / h),
                     (f_yx, (ayp - aym) / 2 / h), (f_yy, (byp - bym) / 2 / h)):
        assert np.max(np.abs(ours - fd) / scale) < 1e-6


def test_sie_gradient_is_finite_and_right_for_a_round_lens():
    """Issue 12: d(alpha_x + alpha_y)/d(e1, e2) of a round SIE (theta_E = 1) at (0.3, 0.2) was
    NaN; central finite differences of lenstronomy's SIE give (-0.0071, -0.4978)."""
    h = 1e-5
    x, y = np.array([0.3]), np.array([0.2])

    def ref(e1, e2):
        ax, ay = LensModel(["SIE"]).alpha(x, y, [dict(theta_E=1.0, e1=e1, e2=e2)])
        return float(ax[0] + ay[0])

    fd = [(ref(h, 0) - ref(-h, 0)) / (2 * h), (ref(0, h) - ref(0, -h)) / (2 * h)]
    assert fd == pytest.approx([-0.0071, -0.4978], abs=1e-4)
    for dtype, tol in ((torch.float64, 1e-7), (torch.float32, 1e-4)):
        e = torch.zeros(2, dtype=dtype, requires_grad=True)
        ax, ay = deflection("SIE", torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=dtype),
                            theta_E=1.0, e1=e[0], e2=e[1])
        (ax + ay).sum().backward()
        np.testing.assert_allclose(e.grad.numpy(), fd, atol=tol)
        # the value with gradients on is the round lens (SIS) itself
        np.testing.assert_allclose([float(ax.detach()[0]), float(ay.detach()[0])],
                                   np.array([0.3, 0.2]) / np.hypot(0.3, 0.2), rtol=1e-6)
    # the hessian and convergence too
    e = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    xt, yt = torch.tensor(x), torch.tensor(y)
    total = sum(hessian("SIE", xt, yt, theta_E=1.0, e1=e[0], e2=e[1])) + convergence(
        "SIE", xt, yt, theta_E=1.0, e1=e[0], e2=e[1])
    total.sum().backward()
    assert torch.isfinite(e.grad).all()

    def h_ref(e1, e2):  # analytic EPL (gamma = 2) hessian; kappa = (f_xx + f_yy)/2
        f_xx, f_xy, f_yx, f_yy = (float(v[0]) for v in EPL().hessian(x, y, 1.0, 2.0, e1, e2))
        return f_xx + f_xy + f_yx + f_yy + (f_xx + f_yy) / 2

    fd_h = [(h_ref(1e-4, 0) - h_ref(-1e-4, 0)) / 2e-4, (h_ref(0, 1e-4) - h_ref(0, -1e-4)) / 2e-4]
    np.testing.assert_allclose(e.grad.numpy(), fd_h, atol=1e-5)


@pytest.mark.parametrize(("name", "kwargs"), [("SIS", dict(theta_E=0.8)),
                                              ("SIE", dict(theta_E=0.8, e1=0.2, e2=-0.1)),
                                              ("NFW", dict(Rs=0.8, alpha_Rs=0.3)),
                                              ("TNFW", dict(Rs=0.8, alpha_Rs=0.3, r_trunc=2.0)),
                                              ("SHEAR", dict(gamma1=0.05, gamma2=-0.02))])
def test_autograd_is_finite_and_matches_finite_differences(name, kwargs):
    """Gradients w.r.t. position and every keyword: finite everywhere tried (including the
    centre of NFW/TNFW, where they are not smooth), equal to central differences where the
    function is smooth — at R = Rs exactly, off-axis and near the centre."""
    points = [(0.8, 0.0), (0.0, -0.8), (0.3, 0.5), (0.05, 0.1)]
    if name != "SIS" and name != "SIE":
        points.append((0.0, 0.0))
    for px, py in points:
        for fn in (lambda *a, **k: sum(deflection(*a, **k)), convergence,
                   lambda *a, **k: sum(hessian(*a, **k))):
            if name == "SHEAR" and fn is convergence:
                continue
            params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
                      for k, v in kwargs.items()}
            pos = torch.tensor([px, py], dtype=torch.float64, requires_grad=True)
            fn(name, pos[0], pos[1], **params).backward()
            grads = [pos.grad] + [params[k].grad for k in kwargs]
            assert all(g is not None and torch.isfinite(g).all() for g in grads), (name, px)
            if (px, py) == (0.0, 0.0):
                continue
            h = 1e-6

            def f(dxy=(0.0, 0.0), key=None, step=0.0):
                kw = dict(kwargs)
                if key is not None:
                    kw[key] = kw[key] + step
                return float(np.asarray(fn(name, np.array([px + dxy[0]]),
                                           np.array([py + dxy[1]]), **kw)).sum())

            fd_pos = [(f((h, 0)) - f((-h, 0))) / (2 * h), (f((0, h)) - f((0, -h))) / (2 * h)]
            np.testing.assert_allclose(pos.grad.numpy(), fd_pos, rtol=1e-5, atol=1e-5)
            for k in kwargs:
                fd = (f(key=k, step=h) - f(key=k, step=-h)) / (2 * h)
                assert float(params[k].grad) == pytest.approx(fd, rel=1e-5, abs=1e-5), (name, k)


@pytest.mark.parametrize("name", ["NFW", "TNFW"])
def test_float32_convergence_keeps_1e6_precision(name):
    """Issue 12: NFW convergence from float32 had 7.4e-3 relative error at R = 2e-7 Rs and 5e-5
    at R = 1.02 Rs; now it is evaluated in float64 like TNFW."""
    kwargs = dict(Rs=0.8, alpha_Rs=0.3) | ({"r_trunc": 2.0} if name == "TNFW" else {})
    R = 0.8 * np.array([2e-7, 1e-4, 0.5, 0.999, 1.0, 1.02, 3.0])
    ref = convergence(name, R, np.zeros_like(R), **kwargs)
    ours = convergence(name, torch.tensor(R, dtype=torch.float32), torch.zeros(R.size), **kwargs)
    assert ours.dtype == torch.float32
    # float32 inputs round R itself by 6e-8 relative: the result is as good as the input
    np.testing.assert_allclose(ours.numpy(), ref, rtol=2e-6)
