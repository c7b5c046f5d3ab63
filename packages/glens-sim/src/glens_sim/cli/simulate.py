"""``glens-sim simulate``: lens source tensors (``.npy``) into observed (flux, velocity) images."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from glens_sim.atomic import atomic_write
from glens_sim.config import LensSimConfig
from glens_sim.simulate import simulate_batch
from glens_sim.sources import load_source_tensor

__all__ = ["register"]


def _config_from_overrides(pairs: Sequence[str]) -> LensSimConfig:
    changes: dict[str, object] = {}
    for pair in pairs:
        field, sep, text = pair.partition("=")
        if not sep:
            raise ValueError(f"--set {pair!r}: expected FIELD=VALUE")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text  # bare strings such as gaussian, SIE, cpu
        changes[field.strip()] = tuple(value) if isinstance(value, list) else value
    try:
        return LensSimConfig().replace(**changes)
    except TypeError as exc:  # unknown field name
        raise ValueError(f"--set: {exc}") from None


def _source_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.npy")))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"source path not found: {path}")
    if not files:
        raise FileNotFoundError(f"no .npy source tensors in {[str(p) for p in paths]}")
    return files


def _cmd_simulate(args: argparse.Namespace) -> int:
    if args.repeats < 1:
        raise ValueError(f"--repeats {args.repeats}: must be >= 1")
    cfg = _config_from_overrides(args.set)
    files = _source_files(args.sources)
    arrays = [load_source_tensor(f) for f in files]
    if len({a.shape for a in arrays}) != 1:
        raise ValueError(f"source tensors differ in shape: {sorted({str(a.shape) for a in arrays})}")
    stack = np.repeat(np.stack(arrays), args.repeats, axis=0)
    generator = torch.Generator().manual_seed(cfg.seed if args.seed is None else args.seed)
    batch = simulate_batch(torch.from_numpy(stack), cfg, lensed=not args.unlensed,
                           subhalo=args.subhalo, generator=generator, progress=True)
    params = batch.params.assign(source=[f.name for f in files for _ in range(args.repeats)])
    out = Path(args.out)

    def write_npz(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, images=batch.images.cpu().numpy(), vel_mask=batch.vel_mask.cpu().numpy())

    csv = out.with_suffix(".params.csv")
    atomic_write(out, write_npz)
    atomic_write(csv, lambda tmp: params.to_csv(tmp, index=False))
    print(f"wrote {len(batch)} simulated images to {out} and parameters to {csv}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` subcommand to a ``glens-sim`` argument parser."""
    parser = subparsers.add_parser(
        "simulate", help="lens source tensors (.npy, (2, N, N)) into observed images",
        description="Simulate lensed (flux, velocity) images of source tensors and write "
                    "OUT (.npz: images (B, 2, N, N), vel_mask (B, N, N)) and "
                    "OUT.params.csv (lens parameters per image).")
    parser.add_argument("sources", nargs="+", type=Path, help=".npy source tensors or directories holding them")
    parser.add_argument("--out", required=True, type=Path, help="output .npz file")
    parser.add_argument("--repeats", type=int, default=1, help="images per source (different random lenses/noise)")
    parser.add_argument("--unlensed", action="store_true", help="no lens (PSF/noise only)")
    parser.add_argument("--subhalo", action="store_true", help="add a subhalo on the arc")
    parser.add_argument("--seed", type=int, default=None, help="default: the config's seed")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="LensSimConfig field override (JSON value), repeatable, e.g. "
                             "--set psf_sigma=0.5 --set subhalo_r_offset_frac=[0.1,0.3]")
    parser.set_defaults(func=_cmd_simulate)
