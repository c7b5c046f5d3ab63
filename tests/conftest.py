"""Fixtures for end-to-end tests: a throw-away copy of the project, and running ``kedro`` in it."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DHS_SHARED", REPO.parent / "shared"))
KEDRO = Path(sys.executable).parent / "kedro"
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".wheels", "mlflow.db", "mlruns", "build", "dist", "__pycache__", ".pytest_cache", "*.egg-info"
)


@dataclass
class Project:
    """A copy of the project in a temporary folder, with its own git repository and MLflow store."""

    path: Path

    def kedro(self, *args: str, timeout: float = 1500, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "KEDRO_DISABLE_TELEMETRY": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
            "DHS_SHARED": str(SHARED),
        }
        env.pop("MLFLOW_TRACKING_URI", None)
        proc = subprocess.run(
            [str(KEDRO), *args], cwd=self.path, env=env, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kedro {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
        return proc

    def files_outside_data(self) -> set[str]:
        """Every file except under data/, the MLflow store, the viz build and kedro-viz's run stats (``.viz/``, git-ignored)."""
        out = set()
        for p in self.path.rglob("*"):
            rel = p.relative_to(self.path).as_posix()
            if p.is_file() and not rel.startswith(("data/", "mlruns/", ".git/", "build/", ".viz/")) and rel != "mlflow.db":
                out.add(rel)
        return out

    def mlflow_runs(self, nested: bool = False) -> list[dict]:
        """Top-level runs (or, with ``nested``, child runs) of the project's MLflow database, newest first."""
        con = sqlite3.connect(self.path / "mlflow.db")
        try:
            rows = con.execute("SELECT run_uuid, status, artifact_uri FROM runs ORDER BY start_time DESC").fetchall()
            runs = []
            for run_id, status, artifact_uri in rows:
                tags = dict(con.execute("SELECT key, value FROM tags WHERE run_uuid=?", (run_id,)).fetchall())
                params = dict(con.execute("SELECT key, value FROM params WHERE run_uuid=?", (run_id,)).fetchall())
                metrics = dict(con.execute("SELECT key, value FROM metrics WHERE run_uuid=?", (run_id,)).fetchall())
                if ("mlflow.parentRunId" in tags) == nested:
                    runs.append({"run_id": run_id, "status": status, "artifact_uri": artifact_uri, "tags": tags,
                                 "params": params, "metrics": metrics})
            return runs
        finally:
            con.close()

    def head(self) -> str:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=self.path, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """One copy of the project for the session (data/ holds only the empty layer folders)."""
    dest = tmp_path_factory.mktemp("project") / "dark-halo-scope"
    shutil.copytree(REPO, dest, ignore=_NOT_COPIED)
    for layer in (dest / "data").iterdir():
        if layer.is_dir():
            shutil.rmtree(layer)
            layer.mkdir()
            (layer / ".gitkeep").touch()
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=dest, check=True)
    yield Project(dest)
