"""The public simulation entry: lensed two-channel (flux, velocity) images of source tensors.

Pipeline per sample (units and grids: :mod:`glens_sim.config`):

1. Lens parameters are drawn from ``generator`` (or given): main lens (``SIS`` / ``SIE``,
   optional ``SHEAR``), optional subhalo (``SIS`` / ``TNFW``) placed on the arc
   (:mod:`glens_sim.subhalo`).
2. ``s x s`` rays per pixel are shot through the lens and the source's flux ``f`` and velocity
   ``v`` sampled bilinearly; per pixel ``F = mean f`` and ``FV = mean f v``
   (:func:`glens_sim.raytrace.lens_flux_velocity`). Unlensed samples use the same path with
   zero deflection.
3. PSF: ``F`` and ``FV`` are convolved with the same kernel; the observed velocity is
   ``v_obs = (F v) * P / (F * P)`` — the surface-brightness-weighted mean an IFU measures
   (spec §2.9 #8).
4. The velocity is valid where the noise-free convolved flux ``F * P >= flux_mask_threshold``
   (and > 0); elsewhere it is ``vel_fill``.
5. Noise (flux, then velocity), clipping, and the velocity mask applied again (so masked sky
   pixels carry no velocity noise).

Random draws happen once per call in a fixed order (lens parameters, subhalo positions,
noise), so the output does not depend on ``chunk_size``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from glens_sim.config import LensSimConfig
from glens_sim.noise import draw_noise
from glens_sim.psf import convolve, psf_kernel
from glens_sim.raytrace import LensComponent, lens_flux_velocity
from glens_sim.subhalo import bright_positions, ring_positions

__all__ = ["SimBatch", "PARAM_COLUMNS", "draw_lens_params", "simulate_batch", "render_single"]

#: Per-sample lens parameters that ``lens_params`` may set (normalised units).
#: ``sub_strength`` is the subhalo's ``theta_E`` (SIS) or ``alpha_Rs`` (TNFW).
PARAM_COLUMNS: tuple[str, ...] = ("theta_E", "center_x", "center_y", "e1", "e2", "gamma1",
                                  "gamma2", "sub_x", "sub_y", "sub_strength")
#: Descriptive columns of ``SimBatch.params`` that are accepted (and ignored) in ``lens_params``.
_INFO_COLUMNS = ("sample", "lensed", "subhalo", "main_profile", "sub_profile", "sub_Rs",
                 "sub_r_trunc")


@dataclass
class SimBatch:
    """Result of :func:`simulate_batch`.

    images: ``(B, 2, N, N)`` float32 on ``cfg.device``; channel 0 observed flux, channel 1
        observed flux-weighted velocity (``cfg.vel_fill`` where ``vel_mask`` is False).
    vel_mask: ``(B, N, N)`` bool, True where the velocity is defined (model flux above the
        threshold).
    params: one row per sample: ``sample, lensed, subhalo, main_profile, theta_E, center_x,
        center_y, e1, e2, gamma1, gamma2, sub_profile, sub_x, sub_y, sub_strength, sub_Rs,
        sub_r_trunc``; parameters that do not apply are NaN (all lens parameters of unlensed
        samples, e1/e2 of an SIS, shear when the config has none, subhalo columns of samples
        without subhalo). Passing this frame back as ``lens_params`` reproduces the lenses.
    """

    images: torch.Tensor
    vel_mask: torch.Tensor
    params: pd.DataFrame

    def __len__(self) -> int:
        return int(self.images.shape[0])


def _uniform(n: int, lo: float, hi: float, generator: torch.Generator) -> torch.Tensor:
    draw = torch.rand(n, generator=generator, dtype=torch.float64, device=generator.device)
    return lo + (hi - lo) * draw.cpu()


def draw_lens_params(cfg: LensSimConfig, n: int,
                     generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Draw the random lens parameters of ``n`` samples (float64, CPU), in a fixed order.

    Order of draws: ``theta_E`` (if ``theta_E_range``), centre x then y (if
    ``lens_center_jitter``), ``|e|`` then angle (SIE with ``ellipticity_max > 0``), ``|gamma|``
    then angle (``shear_max > 0``), subhalo azimuth then radial fraction, and for
    ``subhalo_placement="bright"`` one selector uniform and two sub-pixel uniforms.
    Returns the :data:`PARAM_COLUMNS` plus the raw draws of the "bright" placement.
    """
    zeros = torch.zeros(n, dtype=torch.float64)
    if cfg.theta_E_range is not None:
        theta_E = _uniform(n, *cfg.theta_E_range, generator)
    else:
        theta_E = torch.full((n,), float(cfg.theta_E_main), dtype=torch.float64)
    j = cfg.lens_center_jitter
    cx = _uniform(n, -j, j, generator) if j > 0 else zeros.clone()
    cy = _uniform(n, -j, j, generator) if j > 0 else zeros.clone()
    e1, e2 = zeros.clone(), zeros.clone()
    if cfg.main_profile == "SIE" and cfg.ellipticity_max > 0:
        e_abs = _uniform(n, 0.0, cfg.ellipticity_max, generator)
        angle = _uniform(n, 0.0, math.pi, generator)
        e1, e2 = e_abs * torch.cos(2 * angle), e_abs * torch.sin(2 * angle)
    g1, g2 = zeros.clone(), zeros.clone()
    if cfg.shear_max > 0:
        g_abs = _uniform(n, 0.0, cfg.shear_max, generator)
        angle = _uniform(n, 0.0, math.pi, generator)
        g1, g2 = g_abs * torch.cos(2 * angle), g_abs * torch.sin(2 * angle)
    phi = _uniform(n, 0.0, 2 * math.pi, generator)
    frac = _uniform(n, *cfg.subhalo_r_offset_frac, generator)
    sub_x, sub_y = ring_positions(theta_E, phi, frac, cx, cy)
    params = {"theta_E": theta_E, "center_x": cx, "center_y": cy, "e1": e1, "e2": e2,
              "gamma1": g1, "gamma2": g2, "sub_x": sub_x, "sub_y": sub_y,
              "sub_strength": cfg.theta_E_sub_factor * theta_E}
    if cfg.subhalo_placement == "bright":
        params["bright_u"] = _uniform(n, 0.0, 1.0, generator)
        params["bright_jitter"] = torch.stack(
            (_uniform(n, 0.0, 1.0, generator), _uniform(n, 0.0, 1.0, generator)), dim=1)
    return params


def _as_mask(value: bool | torch.Tensor | np.ndarray | Sequence[bool], n: int,
             name: str) -> torch.Tensor:
    if isinstance(value, (bool, np.bool_)):
        return torch.full((n,), bool(value), dtype=torch.bool)
    mask = torch.as_tensor(np.asarray(value.cpu() if isinstance(value, torch.Tensor) else value))
    if mask.shape != (n,):
        raise ValueError(f"{name}: expected a bool or a tensor of shape ({n},); "
                         f"got shape {tuple(mask.shape)}")
    return mask.to(torch.bool)


def _apply_overrides(params: dict[str, torch.Tensor],
                     lens_params: pd.DataFrame | Mapping[str, Sequence[float]] | None,
                     n: int) -> torch.Tensor:
    """Overwrite drawn parameters with the finite values of ``lens_params``.

    Returns a ``(n,)`` bool tensor: True where the subhalo position was given.
    """
    given_position = torch.zeros(n, dtype=torch.bool)
    if lens_params is None:
        return given_position
    frame = lens_params if isinstance(lens_params, pd.DataFrame) else pd.DataFrame(
        {k: np.atleast_1d(np.asarray(v)) for k, v in lens_params.items()})
    unknown = sorted(set(frame.columns) - set(PARAM_COLUMNS) - set(_INFO_COLUMNS))
    if unknown:
        raise ValueError(f"lens_params: unknown column(s) {unknown}; "
                         f"settable: {list(PARAM_COLUMNS)}")
    if len(frame) != n:
        raise ValueError(f"lens_params has {len(frame)} rows for {n} sources")
    for column in PARAM_COLUMNS:
        if column not in frame.columns:
            continue
        try:
            values = torch.tensor(frame[column].to_numpy(dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"lens_params column {column!r}: not numeric ({exc})") from None
        finite = torch.isfinite(values)
        params[column] = torch.where(finite, values, params[column])
        if column in ("sub_x", "sub_y"):
            given_position |= finite
    return given_position


def _components(p: Mapping[str, torch.Tensor], lensed: torch.Tensor, subhalo: torch.Tensor,
                cfg: LensSimConfig, *, with_subhalo: bool, shear: bool) -> list[LensComponent]:
    on = lensed.to(p["theta_E"].dtype)
    centre = {"center_x": p["center_x"], "center_y": p["center_y"]}
    if cfg.main_profile == "SIE":
        lenses = [("SIE", {"theta_E": p["theta_E"] * on, "e1": p["e1"], "e2": p["e2"],
                           **centre})]
    else:
        lenses = [("SIS", {"theta_E": p["theta_E"] * on, **centre})]
    if shear:
        lenses.append(("SHEAR", {"gamma1": p["gamma1"] * on, "gamma2": p["gamma2"] * on,
                                 "ra_0": p["center_x"], "dec_0": p["center_y"]}))
    if with_subhalo and bool(subhalo.any()):
        strength = p["sub_strength"] * subhalo.to(on.dtype)
        where = {"center_x": p["sub_x"], "center_y": p["sub_y"]}
        if cfg.subhalo_profile == "TNFW":
            lenses.append(("TNFW", {"Rs": cfg.subhalo_Rs, "alpha_Rs": strength,
                                    "r_trunc": cfg.subhalo_r_trunc, **where}))
        else:
            lenses.append(("SIS", {"theta_E": strength, **where}))
    return lenses


def _params_frame(p: Mapping[str, torch.Tensor], lensed: torch.Tensor, subhalo: torch.Tensor,
                  cfg: LensSimConfig, shear: bool) -> pd.DataFrame:
    n = lensed.shape[0]
    lensed_np = lensed.numpy()
    sub_np = subhalo.numpy()

    def col(name: str, valid: np.ndarray) -> np.ndarray:
        return np.where(valid, p[name].numpy(), np.nan)

    frame = pd.DataFrame({"sample": np.arange(n), "lensed": lensed_np, "subhalo": sub_np})
    frame["main_profile"] = np.where(lensed_np, cfg.main_profile, None)
    for name in ("theta_E", "center_x", "center_y"):
        frame[name] = col(name, lensed_np)
    for name in ("e1", "e2"):
        frame[name] = col(name, lensed_np & (cfg.main_profile == "SIE"))
    for name in ("gamma1", "gamma2"):
        frame[name] = col(name, lensed_np & shear)
    frame["sub_profile"] = np.where(sub_np, cfg.subhalo_profile, None)
    for name in ("sub_x", "sub_y", "sub_strength"):
        frame[name] = col(name, sub_np)
    tnfw = sub_np & (cfg.subhalo_profile == "TNFW")
    frame["sub_Rs"] = np.where(tnfw, cfg.subhalo_Rs, np.nan)
    frame["sub_r_trunc"] = np.where(tnfw, cfg.subhalo_r_trunc, np.nan)
    return frame


def simulate_batch(
    sources: torch.Tensor,
    cfg: LensSimConfig,
    *,
    lensed: bool | torch.Tensor = True,
    subhalo: bool | torch.Tensor = False,
    generator: torch.Generator,
    lens_params: pd.DataFrame | Mapping[str, Sequence[float]] | None = None,
    chunk_size: int = 16,
    progress: bool = False,
) -> SimBatch:
    """Simulate observed (flux, velocity) images of a batch of sources.

    Parameters
    ----------
    sources:
        ``(B, 2, N, N)`` tensor (any float dtype/device): channel 0 surface brightness
        (normalised flux in [0, 1]), channel 1 normalised velocity. Pixel centres span
        ``[-cfg.source_half_width, cfg.source_half_width]``. Must be finite.
    cfg:
        :class:`~glens_sim.config.LensSimConfig` (grid, lens, subhalo, PSF, noise, masking,
        dtype and device).
    lensed:
        bool for all samples or a ``(B,)`` bool tensor. Unlensed samples go through the same
        sampling, PSF, masking and noise with zero deflection.
    subhalo:
        bool or ``(B,)`` bool tensor; a subhalo requires ``lensed``.
    generator:
        ``torch.Generator`` for every random draw (lens parameters, subhalo position, noise);
        numbers are drawn on its device. Same generator state + same inputs → same output.
    lens_params:
        Optional per-sample overrides: a DataFrame (e.g. ``SimBatch.params`` of an earlier
        call) or mapping with any of :data:`PARAM_COLUMNS`; finite values replace the drawn
        ones (the draws still happen, so the noise stream is unchanged).
    chunk_size:
        samples rendered at once (memory: about ``chunk_size * (N s)^2 * 40`` bytes).
    progress:
        show a tqdm bar over chunks.

    Returns
    -------
    SimBatch
        ``images`` ``(B, 2, N', N')`` float32 on ``cfg.device`` (``N' = cfg.grid_size or N``),
        ``vel_mask`` ``(B, N', N')`` bool, ``params`` DataFrame (one row per sample).
    """
    if not isinstance(sources, torch.Tensor):
        raise TypeError(f"sources must be a torch.Tensor; got {type(sources).__name__}")
    if sources.ndim != 4 or sources.shape[1] != 2 or sources.shape[2] != sources.shape[3]:
        raise ValueError(f"sources must have shape (B, 2, N, N); got {tuple(sources.shape)}")
    n_samples = int(sources.shape[0])
    finite = torch.isfinite(sources).reshape(n_samples, -1).all(dim=1)
    if not bool(finite.all()):
        bad = torch.nonzero(~finite).flatten()[:5].tolist()
        raise ValueError(f"sources contain NaN/inf values (samples {bad})")
    if chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size}: must be >= 1")
    lensed_m = _as_mask(lensed, n_samples, "lensed")
    sub_m = _as_mask(subhalo, n_samples, "subhalo")
    if bool((sub_m & ~lensed_m).any()):
        raise ValueError("subhalo=True requires lensed=True for the same samples")

    dtype, device = cfg.torch_dtype, torch.device(cfg.device)
    n_pix = int(cfg.grid_size or sources.shape[-1])
    params = draw_lens_params(cfg, n_samples, generator)
    given_position = _apply_overrides(params, lens_params, n_samples)
    if cfg.main_profile == "SIS" and bool((params["e1"] != 0).any() | (params["e2"] != 0).any()):
        raise ValueError("lens_params sets e1/e2 but cfg.main_profile is 'SIS' (use 'SIE')")
    shear = cfg.shear_max > 0 or bool((params["gamma1"] != 0).any()
                                      | (params["gamma2"] != 0).any())
    noise = draw_noise((n_samples, 2, n_pix, n_pix),
                       [cfg.flux_noise_sigma, cfg.vel_noise_sigma], generator,
                       dtype=dtype, device=device)
    kernel = psf_kernel(cfg, dtype=dtype, device=device)
    geometry = {"grid_size": n_pix, "half_width": cfg.half_width,
                "source_half_width": cfg.source_half_width,
                "supersampling": cfg.supersampling, "edge": cfg.edge}

    images = torch.empty((n_samples, 2, n_pix, n_pix), dtype=torch.float32, device=device)
    vel_mask = torch.empty((n_samples, n_pix, n_pix), dtype=torch.bool, device=device)
    starts = range(0, n_samples, chunk_size)
    for start in tqdm(starts, desc="simulate", disable=not progress or len(starts) < 2):
        sl = slice(start, min(start + chunk_size, n_samples))
        src = sources[sl].to(device=device, dtype=dtype)
        p = {k: v[sl] for k, v in params.items()}
        lensed_c, sub_c = lensed_m[sl], sub_m[sl]
        if cfg.subhalo_placement == "bright":
            todo = sub_c & ~given_position[sl]
            if bool(todo.any()):
                _place_on_arc(p, src, lensed_c, todo, cfg, geometry, kernel, shear)
        p_dev = {k: v.to(device=device, dtype=dtype) for k, v in p.items()
                 if k in PARAM_COLUMNS}
        lenses = _components(p_dev, lensed_c.to(device), sub_c.to(device), cfg,
                             with_subhalo=True, shear=shear)
        moments = convolve(lens_flux_velocity(src, lenses, **geometry), kernel,
                           cfg.psf_padding)
        flux, fv = moments[:, 0], moments[:, 1]
        valid = (flux >= cfg.flux_mask_threshold) & (flux > 0)
        velocity = fv / torch.where(valid, flux, torch.ones_like(flux))
        flux = flux + noise[sl, 0]
        velocity = velocity + noise[sl, 1]
        if cfg.flux_clip is not None:
            flux = flux.clamp(*cfg.flux_clip)
        if cfg.vel_clip is not None:
            velocity = velocity.clamp(*cfg.vel_clip)
        velocity = torch.where(valid, velocity, torch.full_like(velocity, cfg.vel_fill))
        images[sl, 0] = flux.to(torch.float32)
        images[sl, 1] = velocity.to(torch.float32)
        vel_mask[sl] = valid
    return SimBatch(images=images, vel_mask=vel_mask,
                    params=_params_frame(params, lensed_m, sub_m, cfg, shear))


def _place_on_arc(p: dict[str, torch.Tensor], src: torch.Tensor, lensed: torch.Tensor,
                  todo: torch.Tensor, cfg: LensSimConfig, geometry: dict, kernel,
                  shear: bool) -> None:
    """Move the subhalo of the ``todo`` samples onto the smooth model's arc.

    Writes in place into ``p["sub_x"]``, ``p["sub_y"]`` (views of the whole batch's tensors).
    """
    device, dtype = src.device, src.dtype
    p_dev = {k: p[k].to(device=device, dtype=dtype) for k in PARAM_COLUMNS}
    smooth = _components(p_dev, lensed.to(device), todo.to(device), cfg, with_subhalo=False,
                         shear=shear)
    flux = convolve(lens_flux_velocity(src, smooth, **geometry), kernel, cfg.psf_padding)[:, 0]
    x, y, ok = bright_positions(flux, p["bright_u"].to(device), p["bright_jitter"].to(device),
                                half_width=cfg.half_width, threshold=cfg.flux_mask_threshold)
    use = (todo.to(device) & ok).cpu()
    p["sub_x"].copy_(torch.where(use, x.cpu().to(torch.float64), p["sub_x"]))
    p["sub_y"].copy_(torch.where(use, y.cpu().to(torch.float64), p["sub_y"]))


def render_single(source: np.ndarray, cfg: LensSimConfig | None = None, *,
                  lensed: bool = True, subhalo: bool = False, seed: int | None = None,
                  lens_params: Mapping[str, float] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    """NumPy convenience: simulate one source ``(2, N, N)``.

    Returns ``(image (2, N', N') float32, vel_mask (N', N') bool, params dict)``.
    ``seed`` defaults to ``cfg.seed``; ``lens_params`` maps :data:`PARAM_COLUMNS` to floats.
    """
    cfg = LensSimConfig() if cfg is None else cfg
    array = np.asarray(source, dtype=np.float64)
    if array.ndim != 3 or array.shape[0] != 2:
        raise ValueError(f"source must have shape (2, N, N); got {array.shape}")
    generator = torch.Generator().manual_seed(cfg.seed if seed is None else int(seed))
    batch = simulate_batch(torch.from_numpy(array)[None], cfg, lensed=lensed, subhalo=subhalo,
                           generator=generator,
                           lens_params=None if lens_params is None else
                           {k: [v] for k, v in lens_params.items()})
    return (batch.images[0].cpu().numpy(), batch.vel_mask[0].cpu().numpy(),
            batch.params.iloc[0].to_dict())
