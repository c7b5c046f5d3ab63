"""Batch inference of an exported checkpoint over a stamp store, pandas batches, or a folder of cutouts.

A checkpoint is the ``{"state_dict", "meta"}`` dict that :func:`dhs_train.training.fit` exports (and the Kedro
``TorchCheckpointDataset`` stores): ``meta`` names the architecture and its arguments, the preprocessing and its
options, the meta columns and the stamp size, so scoring rebuilds exactly the trained network and input.
Asking for another architecture, or a state dict that does not fit the named one, is refused with a
``ValueError`` naming both (the original's scoring job hard-coded a ResNet-18, spec §5.16).

:func:`score_batches` is the survey-scale kernel: an iterator of pandas DataFrames in (store rows with ``(C, H, W)``
cells), an iterator of score frames out — the shape Spark's ``mapInPandas`` and Dask's ``map_partitions`` /
``client.map`` take, as dhs-inject's injection kernel does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from dhs_inject.cutouts import center_crop, read_cutout_fits, read_cutout_npz
from dhs_inject.store import iter_store_batches

from dhs_train.models import LensClassifier, build_model
from dhs_train.training import make_score_fn

__all__ = ["load_classifier", "read_cutout_folder", "score_batches", "score_cutouts", "score_frame", "score_store"]

_FORMAT = "dhs_train.checkpoint/1"


def load_classifier(checkpoint: Mapping[str, Any], architecture: str | None = None) -> LensClassifier:
    """Rebuild the network of an exported checkpoint (eval mode, CPU).

    Raises
    ------
    ValueError
        Not a dhs-train checkpoint; ``architecture`` given and different from the checkpoint's; or a state
        dict that does not fit the architecture the checkpoint names.
    """
    meta = checkpoint.get("meta", {}) if isinstance(checkpoint, Mapping) else {}
    if meta.get("format") != _FORMAT or "state_dict" not in checkpoint:
        raise ValueError(f"not a dhs-train checkpoint (meta.format {meta.get('format')!r}, expected {_FORMAT!r})")
    arch = meta["architecture"]
    if architecture is not None and architecture != arch:
        raise ValueError(f"checkpoint holds a {arch!r} model; refusing to score it as {architecture!r}")
    kwargs = dict(meta["model_kwargs"])
    model = build_model(arch, kwargs.pop("in_channels"), len(kwargs["meta_columns"]),
                        meta_columns=kwargs.pop("meta_columns") or None, **kwargs)
    try:
        model.load_state_dict(checkpoint["state_dict"], strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ValueError(
            f"the checkpoint's weights do not fit a {arch!r} model with {meta['model_kwargs']}: {first}"
        ) from exc
    return model.eval()


def _scorer(checkpoint: Mapping[str, Any], architecture: str | None, batch_size: int):
    model = load_classifier(checkpoint, architecture)
    return make_score_fn(model, checkpoint["meta"], "cpu", batch_size), checkpoint["meta"]


def score_frame(
    frame: pd.DataFrame,
    checkpoint: Mapping[str, Any],
    *,
    images: Sequence[str] = ("stamp",),
    keep: Sequence[str] = ("task_id",),
    architecture: str | None = None,
    batch_size: int = 256,
    _score: Any = None,
) -> pd.DataFrame:
    """Scores of the ``images`` columns of ``frame`` (cells ``(C, H, W)`` or None): one row per non-null cell.

    Returns a frame with the ``keep`` columns, ``image`` (the column scored) and ``score`` (probability).
    """
    score, meta = _score or _scorer(checkpoint, architecture, batch_size)
    out = []
    for col in images:
        present = np.flatnonzero(frame[col].notna().to_numpy())
        if not present.size:
            continue
        stamps = np.stack(frame[col].to_numpy()[present]).astype(np.float32)
        values = frame[meta["meta_columns"]].to_numpy(np.float32)[present] if meta["meta_columns"] else None
        rows = frame.iloc[present][list(keep)].reset_index(drop=True)
        out.append(rows.assign(image=col, score=score(stamps, values)))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=[*keep, "image", "score"])


def score_batches(
    batches: Iterable[pd.DataFrame],
    checkpoint: Mapping[str, Any],
    *,
    images: Sequence[str] = ("stamp",),
    keep: Sequence[str] = ("task_id",),
    architecture: str | None = None,
    batch_size: int = 256,
) -> Iterator[pd.DataFrame]:
    """``mapInPandas``-style kernel: score each incoming DataFrame (the model is built once per call)."""
    scorer = _scorer(checkpoint, architecture, batch_size)
    for frame in batches:
        yield score_frame(frame, checkpoint, images=images, keep=keep, batch_size=batch_size, _score=scorer)


def score_store(
    checkpoint: Mapping[str, Any],
    root: str | os.PathLike,
    split: str | Sequence[str] | None = None,
    *,
    images: Sequence[str] = ("stamp", "ctrl_stamp"),
    architecture: str | None = None,
    batch_rows: int = 512,
    out_path: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Score every stamp (and control) of a store, streaming ``batch_rows`` rows at a time.

    Returns (and writes as parquet to ``out_path`` if given) ``task_id, lrg_id, split, image, label, score,
    theta_e_over_psf, arc_snr``; ``label`` is 1 for the stamp of an injected row and 0 otherwise.
    """
    meta = checkpoint.get("meta", {})
    keep = ["task_id", "lrg_id", "split", "label_row", "theta_e_over_psf", "arc_snr"]
    columns = ["task_id", "lrg_id", "label", "theta_e_over_psf", "arc_snr", *meta.get("meta_columns", []), *images]
    batches = (b.rename(columns={"label": "label_row"}) for b in iter_store_batches(root, split, list(dict.fromkeys(columns)), batch_rows))
    frames = list(score_batches(batches, checkpoint, images=images, keep=keep, architecture=architecture))
    scores = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*keep, "image", "score"])
    scores["label"] = ((scores["image"] == "stamp") & (scores.pop("label_row") == 1)).astype("int8")
    scores = scores[["task_id", "lrg_id", "split", "image", "label", "score", "theta_e_over_psf", "arc_snr"]]
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        scores.to_parquet(out_path, index=False)
    return scores


def read_cutout_folder(folder: str | os.PathLike) -> pd.DataFrame:
    """Every ``*.npz`` (upstream ``(H, W, band)`` cutouts) and ``*.fits`` (cutout service) file of ``folder``.

    Read with dhs-inject's readers; returns ``file, galaxy_id, ra, dec, cutout_ok, image`` (``(C, H, W)``
    float32 nMgy, bands g, r, z) sorted by file name.

    Raises
    ------
    ValueError
        A folder without cutouts, or a file the readers refuse (named).
    """
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix in (".npz", ".fits") or p.name.endswith(".fits.gz"))
    if not files:
        raise ValueError(f"no .npz or .fits cutouts in '{folder}'")
    rows = []
    for path in files:
        if path.suffix == ".npz":
            cut, info = read_cutout_npz(path)
        else:
            cut, wcs = read_cutout_fits(path)
            ra, dec = wcs.wcs.crval
            info = {"galaxy_id": path.name.split(".")[0], "ra": float(ra), "dec": float(dec)}
        rows.append({"file": path.name, "galaxy_id": str(info.get("galaxy_id", path.stem)), "ra": info.get("ra"),
                     "dec": info.get("dec"), "cutout_ok": bool(cut.cutout_ok[0]), "image": cut.image[0]})
    return pd.DataFrame(rows)


def score_cutouts(
    checkpoint: Mapping[str, Any], cutouts: pd.DataFrame, *, architecture: str | None = None
) -> pd.DataFrame:
    """Score cutouts as read by :func:`read_cutout_folder` (the ``image`` column is dropped from the result).

    Each image is centre-cropped to the training stamp size (``meta["image_shape"]``; 101 → 64 takes pixels
    18..81, dhs-inject's ``center_crop``).

    Raises
    ------
    ValueError
        A cutout smaller than the stamp size (named), or a model that needs meta inputs.
    """
    meta = checkpoint["meta"]
    if meta["meta_columns"]:
        raise ValueError(f"the model reads meta columns {meta['meta_columns']}; cutout files carry no observing conditions")
    size = int(meta["image_shape"][-1])
    images = []
    for name, image in zip(cutouts["file"], cutouts["image"], strict=True):
        try:
            images.append(center_crop(np.asarray(image, np.float32), size))
        except ValueError as exc:
            raise ValueError(f"cutout '{name}': {exc}") from exc
    score, _ = _scorer(checkpoint, architecture, 256)
    return cutouts.drop(columns="image").assign(score=score(np.stack(images)) if images else [])
