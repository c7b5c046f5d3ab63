"""Shared fixtures for the rs-ilg tests: the real SPARC data in ``$DHS_SHARED/data/sparc`` (default
``<repo>/../shared``), read once per session. Tests that need it skip with a clear reason when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def shared_root() -> Path:
    return Path(os.environ.get("DHS_SHARED", REPO / ".." / "shared")).resolve()


@pytest.fixture(scope="session")
def sparc_dir() -> Path:
    d = shared_root() / "data" / "sparc"
    if not (d / "Rotmod_LTG").is_dir() or not (d / "SPARC_Lelli2016c.mrt").is_file():
        pytest.skip(f"SPARC data not found under {d} (set DHS_SHARED to the shared folder)")
    return d


@pytest.fixture(scope="session")
def reference_dir(sparc_dir: Path) -> Path:
    d = sparc_dir / "reference_results"
    if not d.is_dir():
        pytest.skip(f"reference results not found under {d}")
    return d


@pytest.fixture(scope="session")
def sparc_rotmods(sparc_dir: Path):
    from rs_ilg.rotmod import read_rotmod_dir

    return read_rotmod_dir(sparc_dir / "Rotmod_LTG")


@pytest.fixture(scope="session")
def sparc_table(sparc_dir: Path):
    from rs_ilg.table import read_sparc_table

    return read_sparc_table(sparc_dir / "SPARC_Lelli2016c.mrt")


@pytest.fixture(scope="session")
def master_compat(sparc_rotmods, sparc_table):
    from rs_ilg.master import build_master
    from rs_ilg.modes import ModeConfig

    return build_master(sparc_rotmods, sparc_table, ModeConfig.compat())


@pytest.fixture(scope="session")
def master_corrected(sparc_rotmods, sparc_table):
    from rs_ilg.master import build_master
    from rs_ilg.modes import ModeConfig

    return build_master(sparc_rotmods, sparc_table, ModeConfig.corrected())


@pytest.fixture(scope="session")
def names156(master_compat):
    from rs_ilg.master import subset_names
    from rs_ilg.modes import ModeConfig

    return subset_names(master_compat, ModeConfig.compat())
