"""simulate_batch: the public simulation entry (shapes, randomness, parameters, CLI)."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
import torch

from glens_sim import LensSimConfig, SimBatch, render_single, simulate_batch
from glens_sim.cli.simulate import register
from glens_sim.simulate import PARAM_COLUMNS

N = 32


def _sources(b: int = 6, n: int = N, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    c = torch.linspace(-1, 1, n)
    r = torch.hypot(c[None, :], c[:, None])
    flux = torch.exp(-r / 0.2)[None] * (0.5 + torch.rand(b, 1, 1, generator=g))
    velocity = torch.tanh(c / 0.2)[None, None, :].expand(b, n, n)
    return torch.stack((flux.clamp(max=1), velocity), dim=1).float()


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_output_shapes_types_and_params():
    out = simulate_batch(_sources(), LensSimConfig(), generator=_gen(),
                         subhalo=torch.tensor([True, False] * 3))
    assert isinstance(out, SimBatch) and len(out) == 6
    assert out.images.shape == (6, 2, N, N) and out.images.dtype == torch.float32
    assert out.vel_mask.shape == (6, N, N) and out.vel_mask.dtype == torch.bool
    p = out.params
    assert list(p["sample"]) == list(range(6))
    assert p["subhalo"].tolist() == [True, False] * 3
    assert p.loc[p.subhalo, "sub_strength"].eq(0.05).all()
    assert p.loc[~p.subhalo, ["sub_x", "sub_y", "sub_strength"]].isna().all().all()
    assert p[["e1", "e2", "gamma1", "gamma2"]].isna().all().all()  # SIS, no shear
    assert torch.isfinite(out.images).all()


def test_reproducible_and_independent_of_chunking():
    cfg = LensSimConfig(supersampling=2, subhalo_placement="bright", theta_E_range=(0.3, 0.7))
    a = simulate_batch(_sources(), cfg, generator=_gen(3), subhalo=True, chunk_size=4)
    b = simulate_batch(_sources(), cfg, generator=_gen(3), subhalo=True, chunk_size=1)
    c = simulate_batch(_sources(), cfg, generator=_gen(4), subhalo=True)
    assert torch.equal(a.images, b.images)
    pd.testing.assert_frame_equal(a.params, b.params)
    assert not torch.equal(a.images, c.images)


def test_lens_params_round_trip_and_overrides():
    cfg = LensSimConfig(main_profile="SIE", ellipticity_max=0.3, shear_max=0.05,
                        subhalo_profile="TNFW", flux_noise_sigma=0.0, vel_noise_sigma=0.0)
    first = simulate_batch(_sources(), cfg, generator=_gen(5), subhalo=True)
    again = simulate_batch(_sources(), cfg, generator=_gen(99), subhalo=True,
                           lens_params=first.params)
    assert torch.equal(first.images, again.images)
    pd.testing.assert_frame_equal(first.params, again.params)
    override = simulate_batch(_sources(), cfg, generator=_gen(5), subhalo=True,
                              lens_params={"theta_E": [0.6] * 6, "sub_x": [np.nan] * 5 + [0.1]})
    assert override.params["theta_E"].eq(0.6).all()
    assert override.params.loc[5, "sub_x"] == 0.1
    assert override.params.loc[0, "sub_x"] == first.params.loc[0, "sub_x"]
    sis = LensSimConfig(flux_noise_sigma=0.0, vel_noise_sigma=0.0)
    plain = simulate_batch(_sources(), sis, generator=_gen(5))
    again = simulate_batch(_sources(), sis, generator=_gen(1), lens_params=plain.params)
    assert torch.equal(plain.images, again.images)
    assert again.params[["e1", "e2", "gamma1", "gamma2"]].isna().all().all()
    sheared = simulate_batch(_sources(), sis, generator=_gen(5), lens_params={"gamma1": [0.1] * 6})
    assert sheared.params["gamma1"].eq(0.1).all() and sheared.params["gamma2"].eq(0.0).all()
    assert not torch.equal(sheared.images, plain.images)
    with pytest.raises(ValueError, match="e1/e2.*'SIS'"):
        simulate_batch(_sources(), sis, generator=_gen(), lens_params={"e1": [0.1] * 6})
    with pytest.raises(ValueError, match="unknown column.*'theta'"):
        simulate_batch(_sources(), cfg, generator=_gen(), lens_params={"theta": [1] * 6})
    with pytest.raises(ValueError, match="3 rows for 6 sources"):
        simulate_batch(_sources(), cfg, generator=_gen(), lens_params={"theta_E": [1] * 3})


def test_unlensed_without_psf_and_noise_is_the_source():
    cfg = LensSimConfig(psf_type="none", flux_noise_sigma=0.0, vel_noise_sigma=0.0,
                        flux_mask_threshold=0.0)
    src = _sources()
    out = simulate_batch(src, cfg, generator=_gen(), lensed=False)
    torch.testing.assert_close(out.images[:, 0], src[:, 0], rtol=0, atol=1e-6)
    valid = out.vel_mask
    torch.testing.assert_close(out.images[:, 1][valid], src[:, 1][valid], rtol=0, atol=1e-5)
    assert out.params["theta_E"].isna().all() and not out.params["lensed"].any()


def test_mixed_lensed_batch_and_subhalo_changes_the_image():
    cfg = LensSimConfig(flux_noise_sigma=0.0, vel_noise_sigma=0.0, theta_E_sub_factor=0.3)
    lensed = torch.tensor([True, False, True, True, False, True])
    smooth = simulate_batch(_sources(), cfg, generator=_gen(7), lensed=lensed)
    sub = simulate_batch(_sources(), cfg, generator=_gen(7), lensed=lensed, subhalo=lensed)
    assert torch.equal(smooth.images[~lensed], sub.images[~lensed])
    diff = (smooth.images[lensed, 0] - sub.images[lensed, 0]).abs().amax(dim=(1, 2))
    assert torch.all(diff > 0.01)
    with pytest.raises(ValueError, match="requires lensed"):
        simulate_batch(_sources(), cfg, generator=_gen(), lensed=lensed, subhalo=True)


def test_subhalo_placements():
    ring = simulate_batch(_sources(200), LensSimConfig(), generator=_gen(1), subhalo=True)
    r = np.hypot(ring.params.sub_x, ring.params.sub_y) / 0.5
    assert r.min() >= 1.1 - 1e-9 and r.max() <= 1.3 + 1e-9 and r.std() > 0.03
    phi = np.arctan2(ring.params.sub_y, ring.params.sub_x)
    assert np.histogram(phi, bins=4, range=(-np.pi, np.pi))[0].min() > 25
    cfg = LensSimConfig(subhalo_placement="bright", flux_noise_sigma=0.0, vel_noise_sigma=0.0)
    bright = simulate_batch(_sources(40), cfg, generator=_gen(2), subhalo=True)
    smooth = simulate_batch(_sources(40), cfg, generator=_gen(2))
    step = 2.0 / (N - 1)
    col = np.rint((bright.params.sub_x + 1) / step).astype(int).clip(0, N - 1)
    row = np.rint((bright.params.sub_y + 1) / step).astype(int).clip(0, N - 1)
    flux_at = smooth.images[np.arange(40), 0, row, col].numpy()
    assert np.all(flux_at >= 0.1 - 0.05)  # on the arc (within a pixel's rounding)


def test_input_validation():
    cfg = LensSimConfig()
    bad = _sources()
    bad[2, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match=r"NaN/inf values \(samples \[2\]\)"):
        simulate_batch(bad, cfg, generator=_gen())
    with pytest.raises(ValueError, match="shape"):
        simulate_batch(torch.zeros(2, 3, N, N), cfg, generator=_gen())
    with pytest.raises(ValueError, match="lensed"):
        simulate_batch(_sources(), cfg, generator=_gen(), lensed=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"LensSimConfig\s+psf_sigma"):
        LensSimConfig(psf_sigma=-1)
    with pytest.raises(ValueError, match=r"LensSimConfig\s+main_profile"):
        LensSimConfig(main_profile="NFW")
    with pytest.raises(TypeError, match="no field"):
        LensSimConfig().replace(sigma=1)
    assert LensSimConfig().replace(psf_sigma=0.5).psf_sigma == 0.5
    assert set(PARAM_COLUMNS) <= set(LensSimConfig().to_dict()) | set(PARAM_COLUMNS)


def test_grid_size_and_float64():
    cfg = LensSimConfig(grid_size=48, dtype="float64", psf_type="moffat")
    out = simulate_batch(_sources(2), cfg, generator=_gen())
    assert out.images.shape == (2, 2, 48, 48) and out.images.dtype == torch.float32


def test_render_single_numpy():
    src = _sources(1)[0].numpy()
    image, mask, params = render_single(src, LensSimConfig(), subhalo=True, seed=3)
    assert image.shape == (2, N, N) and image.dtype == np.float32 and mask.shape == (N, N)
    assert params["subhalo"] and params["theta_E"] == 0.5
    again, _, _ = render_single(src, LensSimConfig(), subhalo=True, seed=3)
    np.testing.assert_array_equal(image, again)
    with pytest.raises(ValueError, match="shape"):
        render_single(src[0])


def test_cli_simulate(tmp_path, capsys):
    for i in range(2):
        np.save(tmp_path / f"source_tensor_g{i}.npy", _sources(1, seed=i)[0].numpy())
    parser = argparse.ArgumentParser(prog="glens-sim")
    register(parser.add_subparsers(dest="command"))
    out = tmp_path / "out" / "lensed.npz"
    args = parser.parse_args(["simulate", str(tmp_path), "--out", str(out), "--repeats", "2",
                              "--subhalo", "--seed", "1", "--set", "psf_sigma=0.5",
                              "--set", "subhalo_r_offset_frac=[0.0,0.1]"])
    assert args.func(args) == 0
    data = np.load(out)
    assert data["images"].shape == (4, 2, N, N) and data["vel_mask"].shape == (4, N, N)
    params = pd.read_csv(out.with_suffix(".params.csv"))
    assert params["source"].tolist() == ["source_tensor_g0.npy"] * 2 + ["source_tensor_g1.npy"] * 2
    assert params["subhalo"].all()
    assert sorted(p.name for p in out.parent.iterdir()) == ["lensed.npz", "lensed.params.csv"]
    (tmp_path / "broken.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match="broken.npy"):
        args.func(parser.parse_args(["simulate", str(tmp_path / "broken.npy"), "--out",
                                     str(tmp_path / "x.npz")]))
    assert not (tmp_path / "x.npz").exists()
    with pytest.raises(ValueError, match="psf_sigma"):
        args.func(parser.parse_args(["simulate", str(tmp_path), "--out", str(out),
                                     "--set", "psf_sigma=-2"]))
    with pytest.raises(ValueError, match="no field"):
        args.func(parser.parse_args(["simulate", str(tmp_path), "--out", str(out),
                                     "--set", "sigma=2"]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    cfg = LensSimConfig(supersampling=3, flux_noise_sigma=0.0, vel_noise_sigma=0.0)
    cpu = simulate_batch(_sources(), cfg, generator=_gen(), subhalo=True)
    gpu = simulate_batch(_sources().cuda(), cfg.replace(device="cuda"), generator=_gen(),
                         subhalo=True)
    assert gpu.images.device.type == "cuda"
    torch.testing.assert_close(gpu.images.cpu(), cpu.images, rtol=0, atol=1e-5)
    pd.testing.assert_frame_equal(gpu.params, cpu.params)
