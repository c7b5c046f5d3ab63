"""A folder of MaNGA DAP MAPS files, with the DAPall/DRPall catalogues when they are there.

The layout of a DR17 download (``manga-<plateifu>-MAPS-<daptype>.fits.gz`` files, ``dapall-*.fits``,
``drpall-*.fits``) and of :func:`glens_sim.synthetic.make_synthetic_sample`, so one call reads either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MAPS_PATTERNS = ("manga-*-MAPS*.fits.gz", "manga-*-MAPS*.fits")


def find_maps_files(folder: str | Path) -> list[Path]:
    """The ``manga-*-MAPS*.fits[.gz]`` files of ``folder`` (sorted); an error names a folder without any."""
    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: not a folder")
    found = sorted({p for pat in MAPS_PATTERNS for p in path.glob(pat)})
    if not found:
        raise FileNotFoundError(f"{path}: no manga-*-MAPS*.fits[.gz] files in this folder")
    return found


def expand_maps_paths(inputs: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders expanded with :func:`find_maps_files`."""
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        out.extend(find_maps_files(path) if path.is_dir() else [path])
    return out


@dataclass(frozen=True)
class MangaSample:
    """MAPS files of a folder and its catalogues (``None`` when absent)."""

    folder: Path
    maps: list[Path]
    dapall: Path | None
    drpall: Path | None


def _one(folder: Path, prefix: str) -> Path | None:
    found = sorted(p for p in folder.iterdir() if p.name.lower().startswith(prefix) and ".fits" in p.name.lower())
    if len(found) > 1:
        raise FileNotFoundError(f"{folder}: more than one {prefix}* catalogue: {[p.name for p in found]}")
    return found[0] if found else None


def read_sample_folder(folder: str | Path) -> MangaSample:
    """MAPS files plus ``dapall*.fits*`` / ``drpall*.fits*`` of ``folder``."""
    root = Path(folder)
    return MangaSample(root, find_maps_files(root), _one(root, "dapall"), _one(root, "drpall"))
