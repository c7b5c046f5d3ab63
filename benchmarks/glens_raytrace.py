"""Batched ray tracing (glens_sim.simulate_batch) vs lenstronomy ImageModel + INTERPOL.

Same work for both, in one run (spec §6.1 setup): 64x64 two-channel (flux, velocity) samples,
SIS theta_E = 0.5 at the origin + SIS subhalo theta_E = 0.05 at radius 0.6 (spec: (0.6, 0); here
a different azimuth per sample, as in training, the same for both methods), 3x3 supersampling,
Gaussian PSF sigma = 1 px (lenstronomy: PSF('GAUSSIAN', fwhm = 2.3548 * pixel), truncation 5),
no noise. lenstronomy renders one channel per ImageModel call, with `delete_interpol_caches()`
before every image (a new source per sample, as in training). glens-sim renders batches of
distinct sources with the flux-weighted velocity (slightly more work than two independent
channels). Timings alternate between the two methods round by round; reported: median
samples/s over rounds and the ratio.

Run from the repository root:
    .venv/bin/python benchmarks/glens_raytrace.py                # ~1-2 min
    .venv/bin/python benchmarks/glens_raytrace.py --rounds 3 --batch 256   # quicker
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

# Shared 2-core machines: with the default OpenMP wait policy, 2 torch threads collapse to
# ~40 samples/s when other jobs compete for the cores; PASSIVE keeps them usable. Must be set
# before torch is imported (an explicit environment setting wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from glens_sim import LensSimConfig, simulate_batch  # noqa: E402

N = 64
STEP = 2.0 / (N - 1)
SUB_THETA_E, SUB_RADIUS = 0.05, 0.6


def subhalo_positions(count: int, seed: int = 1) -> np.ndarray:
    """(count, 2) subhalo centres at radius 0.6, uniform azimuth."""
    phi = np.random.default_rng(seed).uniform(0, 2 * np.pi, count)
    return SUB_RADIUS * np.stack([np.cos(phi), np.sin(phi)], axis=1)


def make_sources(count: int, seed: int = 0) -> np.ndarray:
    """Inclined exponential discs with arctan rotation curves (spec §6.1), jittered PA."""
    rng = np.random.default_rng(seed)
    c = np.linspace(-1, 1, N)
    y, x = np.meshgrid(c, c, indexing="ij")
    out = np.empty((count, 2, N, N))
    inc = np.radians(55)
    for i, pa in enumerate(np.radians(30 + rng.uniform(-20, 20, count))):
        xp = x * np.cos(pa) + y * np.sin(pa)
        yp = (-x * np.sin(pa) + y * np.cos(pa)) / np.cos(inc)
        r = np.hypot(xp, yp)
        flux = np.exp(-r / 0.15)
        vel = 2 / np.pi * np.arctan(r / 0.08) * xp / np.maximum(r, 1e-12) * np.sin(inc)
        out[i, 0] = flux / flux.max()
        out[i, 1] = vel / np.abs(vel).max()
    return out


def lenstronomy_renderer():
    from lenstronomy.Data.pixel_grid import PixelGrid
    from lenstronomy.Data.psf import PSF
    from lenstronomy.ImSim.image_model import ImageModel
    from lenstronomy.LensModel.lens_model import LensModel
    from lenstronomy.LightModel.light_model import LightModel

    grid = PixelGrid(nx=N, ny=N, transform_pix2angle=STEP * np.eye(2), ra_at_xy_0=-1.0,
                     dec_at_xy_0=-1.0)
    psf = PSF("GAUSSIAN", fwhm=2.3548200450309493 * STEP, truncation=5)
    models = [ImageModel(grid, psf, lens_model_class=LensModel(["SIS", "SIS"]),
                         source_model_class=LightModel(["INTERPOL"]),
                         kwargs_numerics={"supersampling_factor": 3}) for _ in range(2)]

    def render(sample: np.ndarray, sub_xy: np.ndarray) -> np.ndarray:
        kwargs_lens = [{"theta_E": 0.5, "center_x": 0.0, "center_y": 0.0},
                       {"theta_E": SUB_THETA_E, "center_x": float(sub_xy[0]),
                        "center_y": float(sub_xy[1])}]
        images = []
        for model, channel in zip(models, sample):
            model.SourceModel.delete_interpol_caches()
            kwargs_source = [{"image": channel, "amp": 1.0, "center_x": 0.0, "center_y": 0.0,
                              "phi_G": 0.0, "scale": STEP}]
            images.append(model.image(kwargs_lens=kwargs_lens, kwargs_source=kwargs_source))
        return np.stack(images) / STEP**2

    return render


def ours(sources: torch.Tensor, sub_xy: np.ndarray, device: str, chunk: int) -> torch.Tensor:
    cfg = LensSimConfig(supersampling=3, psf_sigma=1.0, flux_noise_sigma=0.0,
                        vel_noise_sigma=0.0, theta_E_sub_factor=SUB_THETA_E / 0.5,
                        device=device)
    b = sources.shape[0]
    fixed = {"sub_x": sub_xy[:b, 0], "sub_y": sub_xy[:b, 1]}
    out = simulate_batch(sources, cfg, subhalo=True, generator=torch.Generator().manual_seed(0),
                         lens_params=fixed, chunk_size=chunk)
    if device == "cuda":
        torch.cuda.synchronize()
    return out.images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=512, help="samples per glens-sim call")
    parser.add_argument("--lenstronomy-samples", type=int, default=12,
                        help="samples per lenstronomy round")
    parser.add_argument("--chunk", type=int, default=16, help="simulate_batch chunk_size")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    print(f"python {platform.python_version()}, torch {torch.__version__}, "
          f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    sources_np = make_sources(args.batch)
    sources = torch.from_numpy(sources_np).float()
    sub_xy = subhalo_positions(args.batch)
    render = lenstronomy_renderer()

    # agreement on the flux channel (same physics; velocity is flux-weighted in glens-sim)
    ref = render(sources_np[0], sub_xy[0])
    mine = ours(sources[:1], sub_xy, "cpu", args.chunk)[0].double().numpy()
    print(f"flux channel max |glens-sim - lenstronomy| = {np.abs(mine[0] - ref[0]).max():.2e} "
          f"(peak {ref[0].max():.3f}; float32)")

    devices = [("cpu", t) for t in args.threads]
    if torch.cuda.is_available():
        devices.append(("cuda", None))
    rates: dict[str, list[float]] = {"lenstronomy": []}
    for device, threads in devices:
        rates[f"glens-sim {device}" + (f" {threads} thread(s)" if threads else "")] = []
    for device, threads in devices:  # warm-up
        if threads:
            torch.set_num_threads(threads)
        ours(sources[:64].to(device), sub_xy, device, args.chunk)
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for i in range(args.lenstronomy_samples):
            render(sources_np[i], sub_xy[i])
        rates["lenstronomy"].append(args.lenstronomy_samples / (time.perf_counter() - t0))
        for device, threads in devices:
            if threads:
                torch.set_num_threads(threads)
            batch = sources.to(device)
            t0 = time.perf_counter()
            ours(batch, sub_xy, device, args.chunk)
            key = f"glens-sim {device}" + (f" {threads} thread(s)" if threads else "")
            rates[key].append(args.batch / (time.perf_counter() - t0))
    base = statistics.median(rates["lenstronomy"])
    print(f"\n{'method':32s} {'samples/s (median)':>20s} {'range':>20s} {'vs lenstronomy':>15s}")
    for key, values in rates.items():
        med = statistics.median(values)
        print(f"{key:32s} {med:20.1f} {min(values):9.1f}-{max(values):<10.1f} {med / base:14.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
