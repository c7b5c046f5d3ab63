"""RS features on disk: the original's layout (``thresholds.json``; per galaxy ``fields.npz``, ``profiles.npz``,
``features.json``), written atomically and read back into :class:`~rs_ilg.features.GalaxyFeatures`."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import atomicio
from .build import FeatureSet, GalaxyFeatures


def feature_dir_name(name: str) -> str:
    """Folder name of a galaxy under a features root: ``/`` and spaces replaced by ``_``."""
    return name.replace("/", "_").replace(" ", "_")


def write_features(
    fs: FeatureSet, out_root: str | Path, *, provenance: Mapping[str, Any] | None = None, progress: bool = True
) -> Path:
    """Write ``thresholds.json``, per-galaxy ``fields.npz``, ``profiles.npz``, ``features.json`` and
    ``skipped.csv`` (galaxy, reason; header only when none) under ``out_root``, each file atomically.

    ``thresholds_file`` in each ``features.json`` is relative to that file's folder (``../thresholds.json``;
    the original recorded an absolute path), so it stays true when ``out_root`` is a staging folder that is
    renamed into place, or the tree is moved."""
    root = Path(out_root)
    th_path = atomicio.write_json(root / "thresholds.json", fs.thresholds_json())
    th_rel = f"../{th_path.name}"
    prov = {"source": "rs_ilg.features", "mode": fs.mode.mode, "config": asdict(fs.config), **(provenance or {})}
    for g in tqdm(list(fs.galaxies.values()), desc="write features", disable=not progress):
        d = root / feature_dir_name(g.name)
        atomicio.write_npz(d / "fields.npz", g.fields)
        atomicio.write_npz(d / "profiles.npz", g.profiles)
        atomicio.write_json(d / "features.json", g.features_json(th_rel, prov))
    atomicio.write_text(root / "skipped.csv", fs.skipped.to_csv(index=False))
    return root


def _galaxy_dir(root: Path, galaxy: str) -> Path:
    for cand in (root / feature_dir_name(galaxy), root / galaxy):
        if (cand / "features.json").is_file():
            return cand
    raise FileNotFoundError(f"no features for galaxy {galaxy!r} under {root} "
                            f"(looked for {feature_dir_name(galaxy)}/features.json and {galaxy}/features.json)")  # fmt: skip


def load_features(root: str | Path, galaxy: str) -> GalaxyFeatures:
    """Read one galaxy's features from a features root (as written by :func:`write_features` or the original).

    The folder is ``feature_dir_name(galaxy)``, then the raw name. ``fields`` holds the arrays of
    ``fields.npz`` (``D_iso``, ``ell_rec_kpc`` [kpc], ``traceS``, ``anisotropy``), ``profiles`` those of
    ``profiles.npz`` (empty if absent). Missing files or keys raise errors naming the file.
    """
    d = _galaxy_dir(Path(root), galaxy)
    fj = d / "features.json"
    try:
        meta = json.loads(fj.read_text())
        rd, dx = float(meta["Rd_kpc"]), float(meta["pixscale_kpc"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{fj}: unreadable features.json ({exc})") from exc
    fz = d / "fields.npz"
    if not fz.is_file():
        raise FileNotFoundError(f"{fz}: missing fields.npz")
    with np.load(fz) as z:
        missing = [k for k in ("D_iso", "ell_rec_kpc") if k not in z.files]
        if missing:
            raise ValueError(f"{fz}: missing arrays {missing}")
        flds = {k: z[k] for k in z.files}
    prof: dict[str, np.ndarray] = {}
    if (d / "profiles.npz").is_file():
        with np.load(d / "profiles.npz") as z:
            prof = {k: z[k] for k in z.files}
    rin = meta.get("Rd_input_kpc")
    return GalaxyFeatures(
        name=galaxy, rd_kpc=rd, rd_input_kpc=math.nan if rin is None else float(rin), pixscale_kpc=dx,
        complexity=float(meta.get("C_G", math.nan)), fields=flds, profiles=prof,
        lambda_rec_kpc=float(meta.get("lambda_rec_kpc", math.nan)), A=float(meta.get("A", math.nan)),
        p=float(meta.get("p", math.nan)), g_ext_SI=float(meta.get("g_ext_SI", 0.0)),
        xi_bin=None if meta.get("xi_bin") is None else int(meta["xi_bin"]),
        u_center=meta.get("u_center"), xi=meta.get("xi"),
    )  # fmt: skip


def read_features(root: str | Path, galaxies: Iterable[str] | None = None) -> dict[str, GalaxyFeatures]:
    """Every galaxy's features under ``root`` (or those of ``galaxies``), read once (:func:`load_features`):
    the in-memory form the 3D runner takes. Folder names are taken as galaxy names when ``galaxies`` is None.
    """
    root = Path(root)
    if galaxies is None:
        galaxies = sorted(p.parent.name for p in root.glob("*/features.json"))
    return {name: load_features(root, name) for name in galaxies}


def load_feature_table(root: str | Path, galaxies: Iterable[str] | None = None) -> pd.DataFrame:
    """Scalars of every galaxy folder under ``root`` (or of ``galaxies``) from their ``features.json``:
    galaxy, Rd_kpc, xi_bin, xi, u_center, pixscale_kpc, g_ext_SI. Folder names are taken as galaxy names."""
    root = Path(root)
    if galaxies is None:
        galaxies = sorted(p.parent.name for p in root.glob("*/features.json"))
    rows = []
    for name in galaxies:
        fj = _galaxy_dir(root, name) / "features.json"
        try:
            m = json.loads(fj.read_text())
            rows.append({"galaxy": name, "Rd_kpc": float(m["Rd_kpc"]), "xi_bin": int(m["xi_bin"]),
                         "xi": float(m["xi"]), "u_center": float(m["u_center"]),
                         "pixscale_kpc": float(m["pixscale_kpc"]), "g_ext_SI": float(m.get("g_ext_SI", 0.0))})  # fmt: skip
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{fj}: unreadable features.json ({exc})") from exc
    return pd.DataFrame(rows, columns=["galaxy", "Rd_kpc", "xi_bin", "xi", "u_center", "pixscale_kpc", "g_ext_SI"])
