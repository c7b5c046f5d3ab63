"""Helpers shared by the subcommand modules: reading and writing tables by suffix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from glens_sim.atomic import atomic_write

__all__ = ["read_table", "write_table"]


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table atomically as CSV or parquet (by suffix)."""
    path = Path(path)
    if path.suffix == ".parquet":
        return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or parquet table (by suffix); a missing file names the path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such table")
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
