"""A SPARC release folder: the rotation curves (``Rotmod_LTG/`` or ``Rotmod_LTG.zip``) and one ``.mrt`` table.

This is the layout of the SPARC download (and of :func:`rs_ilg.mock.write_mock_sparc`), so one call reads
either the real data or the mock galaxies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from .rotmod import BadRows, RotmodSet, read_rotmod_dir
from .table import read_sparc_table


@dataclass(frozen=True)
class SparcRelease:
    """Rotation curves (name-ordered, with ``.skipped``/``.dropped_rows``) and the galaxy table."""

    rotmods: RotmodSet
    table: pd.DataFrame
    rotmod_path: Path
    table_path: Path


def find_release_files(folder: str | Path) -> tuple[Path, Path]:
    """``(rotmod folder or zip, table)`` inside ``folder``; a clear error names what is missing."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder (expected a SPARC release folder)")
    candidates = [root / "Rotmod_LTG", root / "Rotmod_LTG.zip"]
    rotmod = next((c for c in candidates if c.exists()), None)
    if rotmod is None:
        raise FileNotFoundError(f"{root}: neither Rotmod_LTG/ nor Rotmod_LTG.zip found")
    tables = sorted(root.glob("*.mrt"))
    if len(tables) != 1:
        raise FileNotFoundError(f"{root}: expected exactly one .mrt galaxy table, found {[t.name for t in tables]}")
    return rotmod, tables[0]


def read_sparc_release(
    folder: str | Path, on_error: Literal["raise", "skip"] = "raise", bad_rows: BadRows = "raise"
) -> SparcRelease:
    """Read a release folder; ``on_error``/``bad_rows`` as in :func:`rs_ilg.rotmod.read_rotmod_dir`."""
    rotmod_path, table_path = find_release_files(folder)
    rotmods = read_rotmod_dir(rotmod_path, on_error=on_error, bad_rows=bad_rows)
    return SparcRelease(rotmods=rotmods, table=read_sparc_table(table_path), rotmod_path=rotmod_path, table_path=table_path)
