"""dhs-train throughput: stamps/s through load -> decode -> preprocess -> batch (array-column store vs the legacy
npz-blob layout, the same rows), and training images/s on CPU (and on CUDA when present).

    .venv/bin/python benchmarks/dhs_train_throughput.py [--rows 2048] [--threads 1] [--out results.json]

Writes a synthetic paired store of ``--rows`` 64x64 grz rows in both layouts with dhs-inject's writer, then times
``StampDataset`` (paired: 2 images per row, no augmentation) through a ``DataLoader`` of batch 256, for both
preprocessing methods; then times forward+backward+AdamW steps of the models at batch 64.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from dhs_inject.store import write_store
from torch.utils.data import DataLoader

from dhs_train.data import DataConfig, StampDataset
from dhs_train.models import build_model


def synthetic_store(root: Path, rows: int, layout: str, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    r = np.hypot(*np.mgrid[-32:32, -32:32])
    host = np.exp(-r / 3.0)[None] * np.array([1.0, 2.0, 3.0])[:, None, None]
    recs = []
    for i in range(rows):
        ctrl = (host + rng.normal(0, 0.05, (3, 64, 64))).astype(np.float32)
        recs.append({"task_id": f"t{i:06d}", "lrg_id": f"l{i:06d}", "split": "train", "label": np.int8(1),
                     "pairing": "paired", "cutout_ok": True, "bandset": "grz", "theta_e_over_psf": 1.0,
                     "arc_snr": 10.0, "psfsize_r": 1.2, "psfdepth_r": 900.0,
                     "stamp": ctrl + (0.2 * np.exp(-((r - 8) ** 2))[None]).astype(np.float32), "ctrl_stamp": ctrl})
    write_store(pd.DataFrame(recs), root, part_rows=512, layout=layout)
    return root


def loader_rate(root: Path, method: str, batch: int = 256) -> float:
    cfg = DataConfig(preprocess=method, dihedral=False, shuffle=False)
    ds = StampDataset(root, "train", cfg)
    t0, n = time.perf_counter(), 0
    for x, *_ in DataLoader(ds, batch_size=batch):
        n += len(x)
    return n / (time.perf_counter() - t0)


def train_rate(name: str, device: str, batch: int = 64, steps: int = 5, **kw) -> float:
    model = build_model(name, **kw).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch, 3, 64, 64, device=device)
    y = torch.randint(0, 2, (batch,), device=device).float()
    amp = device == "cuda"
    for i in range(steps + 2):  # 2 warm-up steps
        if i == 2:
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        with torch.autocast(device, dtype=torch.bfloat16, enabled=amp):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x).float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out: dict[str, object] = {"rows": args.rows, "threads": args.threads, "load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        for layout in ("tensor", "npz"):
            root = synthetic_store(Path(tmp) / layout, args.rows, layout)
            size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
            out[f"{layout}.store_MB"] = round(size / 2**20, 1)
            for method in ("raw_robust", "residual_radial_profile"):
                out[f"{layout}.{method}.stamps_per_s"] = round(loader_rate(root, method), 1)
                print(layout, method, out[f"{layout}.{method}.stamps_per_s"], flush=True)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    models = {"resnet18_w64_stamp": dict(name="resnet18", width=64, stem="stamp"),
              "resnet18_w8_imagenet (pipeline default)": dict(name="resnet18", width=8, stem="imagenet"),
              "convnext_tiny": dict(name="convnext_tiny")}
    for device in devices:
        for label, kw in models.items():
            out[f"train.{device}.{label}.images_per_s"] = round(train_rate(device=device, steps=3 if device == "cpu" else 20, **kw), 1)
            print(device, label, out[f"train.{device}.{label}.images_per_s"], flush=True)
    out["load_average_end"] = os.getloadavg()
    print(json.dumps(out, indent=2))
    if args.out:
        args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
