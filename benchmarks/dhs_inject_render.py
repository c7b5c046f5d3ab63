"""Arc injection rendering: glens_sim.render.render_sersic_arcs vs lenstronomy and caustics.

Same work for every method, in one run, same parameter draws (spec dhs.md §8 priors): grz 64x64
stamps at 0.262"/px, lens SIE (theta_E ~ U[0.5, 2.5]", e1, e2 ~ U[-0.2, 0.2], centred) +
external shear (gamma1, gamma2 ~ N(0, 0.05)), Sérsic source (R_sersic ~ U[0.15, 0.5]",
n ~ U[0.5, 2], e1, e2 ~ U[-0.3, 0.3], beta = theta_E sqrt(U(0.01, 0.16)) in a random
direction; r ~ U[23, 26] mag, g-r ~ N(1.15, 0.30), r-z ~ N(0.85, 0.20), nMgy), 4x4 sub-pixel
oversampling, a Moffat (beta = 3.5) PSF per sample and band (FWHM_r ~ U[1.0, 1.6]",
FWHM_g = 1.05 FWHM_r, FWHM_z = 0.94 FWHM_r; 21x21 pixel kernel, unit sum).

* glens-sim: one call per batch of stamps (rays shot once per stamp, reused for g, r, z),
  float32, adaptive 4x4 oversampling (the default ``refine_fraction=0.25``: the 4x4 grid on the
  brightest quarter of the pixels), the images only (``magnification=False``: the peers' work),
  eager; the same function under ``torch.compile`` (compile time reported apart); eager with the
  4x4 grid on every pixel (``refine_fraction=1``); and, eager and compiled, with the measured
  magnification too (the unlensed source on the same grid: the dhs-inject kernel's work).
* lenstronomy 1.14 ``ImageModel`` (the spec §8 anchor): one model per band built once,
  ``supersampling_factor=4``, PSF('PIXEL') with the sample's kernel set by ``update_psf`` per
  image, three ``image()`` calls per stamp; single process (NumPy).
* caustics 1.7 (PyTorch): ``LensSource`` (SIE + ExternalShear in a SinglePlane, lenstronomy's
  Sérsic b_n) with ``upsample_factor=4`` under ``torch.vmap`` over (stamp, band); caustics
  convolves at the upsampled resolution, so its PSF is the same Moffat sampled on the 4x
  finer grid (84x84, the 21x21-pixel footprint). float32.

Rates are stamps (three bands) per second, median over rounds; methods alternate round by
round. The process CPU time per stamp is printed too (all threads): on a shared machine the wall
clock depends on the scheduler's share, the CPU time much less, so the CPU-time ratio is the
single-core speed ratio. An accuracy block compares glens-sim's stamps with lenstronomy's on the
same draws, and
the unlensed-flux capture of the 4x4 grid for small sources.

Run from the repository root (a few minutes; the machine's load average is printed):
    .venv/bin/python benchmarks/dhs_inject_render.py
    .venv/bin/python benchmarks/dhs_inject_render.py --device cuda   # GPU figure, if lent
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # shared cores (see glens_raytrace.py)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from glens_sim.grid import origin_arcsec, pixel_grid  # noqa: E402
from glens_sim.light import lenstronomy_amp, sersic_shape  # noqa: E402
from glens_sim.psf import moffat_kernels  # noqa: E402
from glens_sim.render import render_sersic_arcs  # noqa: E402

N, PIX, S, KSIZE, BETA = 64, 0.262, 4, 21, 3.5


def draw(n: int, seed: int) -> dict[str, np.ndarray]:
    """Spec §8 priors (plus §2.8 colours and PSF ratios); float64 arrays of length n."""
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0.5, 2.5, n)
    rad = theta * np.sqrt(rng.uniform(0.01, 0.16, n))
    ang = rng.uniform(0, 2 * np.pi, n)
    r_mag = rng.uniform(23, 26, n)
    g_mag = r_mag + rng.normal(1.15, 0.30, n)
    z_mag = r_mag - rng.normal(0.85, 0.20, n)
    fwhm_r = rng.uniform(1.0, 1.6, n)
    return dict(theta_E=theta, lens_e1=rng.uniform(-0.2, 0.2, n),
                lens_e2=rng.uniform(-0.2, 0.2, n), gamma1=rng.normal(0, 0.05, n),
                gamma2=rng.normal(0, 0.05, n), R_sersic=rng.uniform(0.15, 0.5, n),
                n_sersic=rng.uniform(0.5, 2.0, n), src_e1=rng.uniform(-0.3, 0.3, n),
                src_e2=rng.uniform(-0.3, 0.3, n), src_x=rad * np.cos(ang),
                src_y=rad * np.sin(ang),
                flux=10 ** (-0.4 * (np.stack([g_mag, r_mag, z_mag], 1) - 22.5)),
                fwhm=np.stack([1.05 * fwhm_r, fwhm_r, 0.94 * fwhm_r], 1))


def ours_inputs(p: dict, sl: slice, dtype: torch.dtype, device: str):
    def t(a):
        return torch.as_tensor(a[sl], dtype=dtype, device=device)

    zeros = torch.zeros(sl.stop - sl.start, dtype=dtype, device=device)
    lens = dict(theta_E=t(p["theta_E"]), e1=t(p["lens_e1"]), e2=t(p["lens_e2"]),
                center_x=zeros, center_y=zeros)
    shear = dict(gamma1=t(p["gamma1"]), gamma2=t(p["gamma2"]))
    source = dict(R_sersic=t(p["R_sersic"]), n_sersic=t(p["n_sersic"]), e1=t(p["src_e1"]),
                  e2=t(p["src_e2"]), center_x=t(p["src_x"]), center_y=t(p["src_y"]))
    psf = moffat_kernels(t(p["fwhm"]), PIX, KSIZE, BETA)
    return lens, shear, source, t(p["flux"]), psf


def lenstronomy_setup():
    from lenstronomy.Data.pixel_grid import PixelGrid
    from lenstronomy.Data.psf import PSF
    from lenstronomy.ImSim.image_model import ImageModel
    from lenstronomy.LensModel.lens_model import LensModel
    from lenstronomy.LightModel.light_model import LightModel

    o = origin_arcsec(N, PIX)
    grid = PixelGrid(nx=N, ny=N, transform_pix2angle=PIX * np.eye(2), ra_at_xy_0=o, dec_at_xy_0=o)
    k0 = np.ones((KSIZE, KSIZE)) / KSIZE**2
    models = [ImageModel(grid, PSF("PIXEL", kernel_point_source=k0),
                         lens_model_class=LensModel(["SIE", "SHEAR"]),
                         source_model_class=LightModel(["SERSIC_ELLIPSE"]),
                         kwargs_numerics={"supersampling_factor": S}) for _ in range(3)]
    return models, PSF


def lenstronomy_render(models, PSF, p: dict, i: int, kernels: np.ndarray | None) -> np.ndarray:
    """Three bands of stamp ``i``; ``kernels=None`` keeps each model's current PSF (a bound on
    lenstronomy's speed: the same kernel for every stamp, no ``update_psf``)."""
    kl = [dict(theta_E=p["theta_E"][i], e1=p["lens_e1"][i], e2=p["lens_e2"][i], center_x=0.0,
               center_y=0.0), dict(gamma1=p["gamma1"][i], gamma2=p["gamma2"][i])]
    out = np.empty((3, N, N))
    for b, model in enumerate(models):
        if kernels is not None:
            model.update_psf(PSF("PIXEL", kernel_point_source=kernels[i, b]))
        ks = [dict(amp=lenstronomy_amp(p["flux"][i, b], p["R_sersic"][i], p["n_sersic"][i]),
                   R_sersic=p["R_sersic"][i], n_sersic=p["n_sersic"][i], e1=p["src_e1"][i],
                   e2=p["src_e2"][i], center_x=p["src_x"][i], center_y=p["src_y"][i])]
        out[b] = model.image(kl, ks)
    return out


def caustics_setup(p: dict):
    import caustics

    cosmo = caustics.FlatLambdaCDM(name="cosmo")
    sie = caustics.SIE(cosmology=cosmo, name="sie", z_l=0.5, z_s=1.0, angle_system="e1_e2")
    shear = caustics.ExternalShear(cosmology=cosmo, name="shear", z_l=0.5, z_s=1.0, x0=0.0,
                                   y0=0.0)
    lens = caustics.SinglePlane(lenses=[sie, shear], cosmology=cosmo, z_l=0.5, z_s=1.0,
                                name="lens")
    src = caustics.Sersic(name="src", use_lenstronomy_k=True, angle_system="e1_e2")
    ks = KSIZE * S
    sim = caustics.LensSource(lens, src, pixelscale=PIX, pixels_x=N, upsample_factor=S,
                              psf=None, psf_shape=(ks, ks), name="sim")
    names = [q.name for q in sim.dynamic_params]
    expected = ["psf", "x0", "y0", "Rein", "e1", "e2", "gamma_1", "gamma_2", "x0", "y0", "n",
                "Re", "Ie", "e1", "e2"]
    if names != expected:
        raise RuntimeError(f"caustics parameter order changed: {names}")
    # Moffat PSF on the 4x finer grid (sub-pixel centres of the 21x21-pixel footprint)
    c = (np.arange(ks) - (ks - 1) / 2) / S
    r2 = c[:, None] ** 2 + c[None, :] ** 2
    alpha = p["fwhm"] / PIX / (2 * np.sqrt(2 ** (1 / BETA) - 1))
    kern = (1 + r2[None, None] / alpha[..., None, None] ** 2) ** (-BETA)
    kern /= kern.sum(axis=(-2, -1), keepdims=True)
    return torch.vmap(sim), kern


def caustics_params(p: dict, kern: np.ndarray, sl: slice) -> torch.Tensor:
    rows = []
    for i in range(sl.start, sl.stop):
        for b in range(3):
            ie = lenstronomy_amp(p["flux"][i, b], p["R_sersic"][i], p["n_sersic"][i])
            scal = [0.0, 0.0, p["theta_E"][i], p["lens_e1"][i], p["lens_e2"][i], p["gamma1"][i],
                    p["gamma2"][i], p["src_x"][i], p["src_y"][i], p["n_sersic"][i],
                    p["R_sersic"][i], ie, p["src_e1"][i], p["src_e2"][i]]
            rows.append(np.concatenate([kern[i, b].ravel(), scal]))
    return torch.tensor(np.array(rows), dtype=torch.float32)


#: process CPU seconds of the last :func:`timed` call (all threads): unlike the wall clock, it does
#: not grow when other jobs share the cores, so CPU-time ratios are comparable across loads
_last_cpu = [0.0]


def timed(fn, reps: int = 1) -> float:
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(reps):
        fn()
    _last_cpu[0] = (time.process_time() - c0) / reps
    return (time.perf_counter() - t0) / reps


def capture_table() -> list[str]:
    """Unlensed flux summed on the s x s grid / analytic total, for small round sources at the
    stamp centre offset by (0.1, 0.07) arcsec (float64)."""
    lines = ["| R_e (arcsec) | n | s=1 | s=2 | s=4 | s=8 |", "|---|---|---|---|---|---|"]
    for re_ in (0.05, 0.1, 0.15, 0.3, 0.5):
        for n in (0.5, 1.0, 2.0, 4.0):
            cells = []
            for s in (1, 2, 4, 8):
                x, y = pixel_grid(N, PIX, s, dtype=torch.float64)
                sh = sersic_shape(*(torch.tensor(v, dtype=torch.float64)
                                    for v in (re_, n, 0.0, 0.0, 0.1, 0.07)))
                tot = float(sh.unit_flux_brightness(x, y).sum()) * (PIX / s) ** 2
                cells.append(f"{tot:.4f}")
            lines.append(f"| {re_} | {n} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stamps", type=int, default=512, help="glens-sim stamps per round")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--peer-stamps", type=int, default=24, help="lenstronomy/caustics per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--no-caustics", action="store_true")
    ap.add_argument("--no-lenstronomy", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = args.device
    p = draw(max(args.stamps, args.peer_stamps), seed=7)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} torch threads, device {dev}, load average {os.getloadavg()}")

    def sync():
        if dev.startswith("cuda"):
            torch.cuda.synchronize()

    def ours_round(fn) -> float:
        batches = [ours_inputs(p, slice(i, min(i + args.batch, args.stamps)), torch.float32,
                               dev) for i in range(0, args.stamps, args.batch)]

        def run():
            for lens, shear, source, flux, psf in batches:
                fn(lens, shear, source, flux, psf)
            sync()
        rate = args.stamps / timed(run)
        cpu_ms.setdefault(fn, []).append(_last_cpu[0] / args.stamps * 1e3)
        return rate

    cpu_ms: dict = {}  # CPU ms per stamp, by method (key: function or name)

    methods: dict[str, list[float]] = {"glens-sim eager": [], "glens-sim eager, full 4x4 grid": []}

    def eager(*a):  # lenstronomy's work: the images
        return render_sersic_arcs(*a, magnification=False)

    def full_grid(*a):
        return render_sersic_arcs(*a, refine_fraction=1.0, magnification=False)

    def with_mu(*a):  # the dhs-inject kernel's work: images and the measured magnification
        return render_sersic_arcs(*a)

    ours_round(eager)  # warm-up
    ours_round(with_mu)
    methods["glens-sim eager, with magnification"] = []
    compiled = compiled_mu = None
    if not args.no_compile:
        compiled, compiled_mu = torch.compile(eager, dynamic=False), torch.compile(with_mu, dynamic=False)
        for fn in (compiled, compiled_mu):
            t0 = time.perf_counter()
            ours_round(fn)
            print(f"# torch.compile: first call (compilation) {time.perf_counter() - t0:.1f} s")
        methods["glens-sim torch.compile"] = []
        methods["glens-sim torch.compile, with magnification"] = []
    if not args.no_lenstronomy:
        models, PSF = lenstronomy_setup()
        kern_np = moffat_kernels(torch.as_tensor(p["fwhm"]), PIX, KSIZE, BETA).numpy()
        lenstronomy_render(models, PSF, p, 0, kern_np)
        methods["lenstronomy ImageModel"] = []
        methods["lenstronomy, fixed PSF (no update_psf)"] = []
    if not args.no_caustics:
        csim, ckern = caustics_setup(p)
        cparams = caustics_params(p, ckern, slice(0, args.peer_stamps))
        csim(cparams[:3])
        methods["caustics LensSource + vmap"] = []
    for _ in range(args.rounds):
        methods["glens-sim eager"].append(ours_round(eager))
        methods["glens-sim eager, full 4x4 grid"].append(ours_round(full_grid))
        methods["glens-sim eager, with magnification"].append(ours_round(with_mu))
        if compiled is not None:
            methods["glens-sim torch.compile"].append(ours_round(compiled))
            methods["glens-sim torch.compile, with magnification"].append(ours_round(compiled_mu))
        if not args.no_lenstronomy:
            methods["lenstronomy ImageModel"].append(args.peer_stamps / timed(
                lambda: [lenstronomy_render(models, PSF, p, i, kern_np)
                         for i in range(args.peer_stamps)]))
            cpu_ms.setdefault("lenstronomy ImageModel", []).append(
                _last_cpu[0] / args.peer_stamps * 1e3)
            methods["lenstronomy, fixed PSF (no update_psf)"].append(args.peer_stamps / timed(
                lambda: [lenstronomy_render(models, PSF, p, i, None)
                         for i in range(args.peer_stamps)]))
        if not args.no_caustics:
            methods["caustics LensSource + vmap"].append(args.peer_stamps / timed(
                lambda: [csim(cparams[j:j + 3 * 8]) for j in range(0, len(cparams), 24)]))
            cpu_ms.setdefault("caustics LensSource + vmap", []).append(
                _last_cpu[0] / args.peer_stamps * 1e3)
    med = {k: statistics.median(v) for k, v in methods.items()}
    cpu_by_name = {"glens-sim eager": cpu_ms.get(eager), "glens-sim eager, full 4x4 grid":
                   cpu_ms.get(full_grid), "glens-sim eager, with magnification": cpu_ms.get(with_mu),
                   "glens-sim torch.compile": cpu_ms.get(compiled),
                   "glens-sim torch.compile, with magnification": cpu_ms.get(compiled_mu),
                   **{k: v for k, v in cpu_ms.items() if isinstance(k, str)}}
    print(f"# load average after: {os.getloadavg()}")
    print("| method | grz stamps/s (median) | rounds | CPU ms per stamp (median) |")
    print("|---|---|---|---|")
    for k, v in methods.items():
        c = cpu_by_name.get(k)
        cpu = f"{statistics.median(c[-len(v):]):.2f}" if c else "—"
        print(f"| {k} | {med[k]:.1f} | {', '.join(f'{x:.1f}' for x in v)} | {cpu} |")
    ref_cpu = cpu_by_name.get("lenstronomy ImageModel")
    if ref_cpu:
        for k, c in cpu_by_name.items():
            if c and k.startswith("glens-sim"):
                print(f"# CPU-time ratio lenstronomy / {k} = "
                      f"{statistics.median(ref_cpu) / statistics.median(c[-args.rounds:]):.1f}x")
    if "lenstronomy ImageModel" in med:
        for k in methods:
            if not k.startswith("lenstronomy ImageModel"):
                print(f"# {k} / lenstronomy = {med[k] / med['lenstronomy ImageModel']:.1f}x")
        # accuracy on the same draws (float32 ours vs float64 lenstronomy)
        lens, shear, source, flux, psf = ours_inputs(p, slice(0, 8), torch.float32, dev)
        out = render_sersic_arcs(lens, shear, source, flux, psf)
        refs = [lenstronomy_render(models, PSF, p, i, kern_np) for i in range(8)]
        err = max(float(np.max(np.abs(out.images[i].cpu().numpy() - ref) / ref.max()))
                  for i, ref in enumerate(refs))
        print(f"# max |glens-sim - lenstronomy| / peak over 8 stamps x 3 bands: {err:.2e}")
        full = render_sersic_arcs(lens, shear, source, flux, psf, refine_fraction=1.0)
        err = max(float(np.max(np.abs(full.images[i].cpu().numpy() - ref) / ref.max()))
                  for i, ref in enumerate(refs))
        print(f"# the same with the full 4x4 grid (refine_fraction=1): {err:.2e}")
        print(f"# measured magnifications of those stamps: "
              f"{np.round(out.magnification.cpu().numpy(), 2).tolist()}")
    print("\n".join(capture_table()))


if __name__ == "__main__":
    main()
