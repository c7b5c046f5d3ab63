"""Kill a pipeline at random moments and count what was lost, corrupted or mislabelled (docs/reliability.md).

Usage (from the project root; the study runs in a throw-away copy of the project, never in this checkout)::

    uv run --locked python scripts/kill_study.py --pipeline rs_ilg --kills 10 --signals KILL INT
    uv run --locked python scripts/kill_study.py --pipeline glens --kills 3 --disk-full 08_reporting

For each kill: ``kedro run --pipeline P`` starts over the outputs of a complete earlier run and, once its MLflow
run is open, receives the signal after a uniformly random fraction (0-95 %) of the clean run's node phase (MLflow
start to end); then every file under ``data/`` is checked:

- *lost*: a file of the clean run that no longer exists;
- *corrupt*: a file that does not parse by its suffix (parquet footer, CSV, JSON, pickle, PNG IEND chunk, FITS
  verify, npz members, torch ``weights_only`` load; any other file must be non-empty);
- *temporary left*: ``.<name>.dhs-<host>-<pid>-<rand>.part|.stage`` files (removed by the next run);
- *mislabelled*: a run recorded FINISHED that had not ended before the signal, or (after a final clean run)
  any run still RUNNING.

``--disk-full LAYER`` mounts a tmpfs just larger than ``data/LAYER`` over it (needs root) and reruns: the run
must fail, FAILED, with every file of the layer intact. Prints a Markdown table and writes ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
KEDRO = Path(sys.executable).parent / "kedro"
TEMP = re.compile(r"^\..+\.dhs-[^-]+-\d+-[0-9a-f]{8}\.(?:part|stage)$")
IGNORE = shutil.ignore_patterns(".git", ".venv", ".wheels", "mlflow.db", "mlruns", "build", "dist", "__pycache__",
                                ".pytest_cache", "*.egg-info", ".viz")


def copy_project(dest: Path) -> Path:
    """A copy of this checkout with empty data layers and its own git repository (as tests/conftest.py makes)."""
    shutil.copytree(REPO, dest, ignore=IGNORE)
    for layer in (dest / "data").iterdir():
        if layer.is_dir():
            shutil.rmtree(layer)
            layer.mkdir()
            (layer / ".gitkeep").touch()
    git = ["git", "-c", "user.name=study", "-c", "user.email=study@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "copy"]):
        subprocess.run([*git, *args], cwd=dest, check=True)
    return dest


def environment() -> dict[str, str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.setdefault("DHS_SHARED", str(REPO.parent / "shared"))
    return env


def check_file(path: Path) -> str | None:
    """Why ``path`` is corrupt, or ``None`` when it parses."""
    suffix = "".join(path.suffixes[-1:]).lower()
    try:
        if path.stat().st_size == 0:
            return "empty"
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.read_table(path)
        elif suffix == ".csv":
            import pandas as pd

            pd.read_csv(path)
        elif suffix == ".json":
            json.loads(path.read_text())
        elif suffix == ".pkl":
            with path.open("rb") as fh:
                pickle.load(fh)  # noqa: S301 - files this study's own runs wrote
        elif suffix == ".png":
            data = path.read_bytes()
            if not (data.startswith(b"\x89PNG\r\n\x1a\n") and data[-12:-4] == b"\x00\x00\x00\x00IEND"):
                return "PNG without its IEND chunk"
        elif suffix in (".fits", ".gz") and ".fits" in path.name:
            from astropy.io import fits

            with fits.open(path) as hdul:
                hdul.verify("exception")
                for hdu in hdul:
                    _ = hdu.data
        elif suffix == ".npz":
            import numpy as np

            with np.load(path, allow_pickle=False) as npz:
                for key in npz.files:
                    _ = npz[key]
        elif suffix == ".pt":
            import torch

            torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any failure to parse is what is counted
        return f"{type(exc).__name__}: {str(exc)[:120]}"
    return None


def snapshot(data: Path) -> dict[str, str]:
    """Relative path → SHA-256 of every regular file under ``data`` (temporary files excluded)."""
    out = {}
    for path in sorted(data.rglob("*")):
        if path.is_file() and not TEMP.match(path.name) and not any(TEMP.match(p) for p in path.relative_to(data).parts):
            out[path.relative_to(data).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def inspect(data: Path, baseline: dict[str, str]) -> dict[str, Any]:
    now = snapshot(data)
    temps = [p for p in data.rglob("*") if TEMP.match(p.name)]
    corrupt = {rel: why for rel in now if rel.split("/")[-1] != ".gitkeep" and (why := check_file(data / rel))}
    return {"lost": sorted(set(baseline) - set(now)), "corrupt": corrupt, "temporary_left": len(temps)}


def runs(project: Path) -> list[tuple[str, str, int, int]]:
    """Top-level MLflow runs: ``(run_id, status, start_ms, end_ms)``, oldest first."""
    if not (project / "mlflow.db").exists():
        return []
    con = sqlite3.connect(project / "mlflow.db")
    try:
        return con.execute(
            "SELECT run_uuid, status, start_time, COALESCE(end_time, 0) FROM runs WHERE run_uuid NOT IN "
            "(SELECT run_uuid FROM tags WHERE key = 'mlflow.parentRunId') ORDER BY start_time"
        ).fetchall()
    finally:
        con.close()


def kedro_run(project: Path, pipeline: str, timeout: float = 3600) -> tuple[int, float, str]:
    start = time.monotonic()
    proc = subprocess.run([str(KEDRO), "run", "--pipeline", pipeline], cwd=project, env=environment(),
                          capture_output=True, text=True, timeout=timeout)
    return proc.returncode, time.monotonic() - start, proc.stdout[-3000:] + proc.stderr[-3000:]


def kill_once(project: Path, pipeline: str, sig: signal.Signals, fraction: float, node_phase_s: float,
              baseline: dict[str, str]) -> dict[str, Any]:
    """Start a run; once its MLflow run exists (the pipeline is starting), wait ``fraction`` of the clean run's
    node phase and send ``sig``; then inspect every file and the run's recorded status."""
    before = {r[0] for r in runs(project)}
    proc = subprocess.Popen([str(KEDRO), "run", "--pipeline", pipeline], cwd=project, env=environment(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and not [r for r in runs(project) if r[0] not in before]:
        time.sleep(0.5)
    time.sleep(fraction * node_phase_s)
    completed = proc.poll() is not None
    signalled_ms = time.time() * 1000
    if not completed:
        proc.send_signal(sig)
    try:
        proc.wait(180)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    new = [r for r in runs(project) if r[0] not in before]
    status, end_ms = (new[-1][1], new[-1][3]) if new else ("no run", 0)
    finished_before_signal = status == "FINISHED" and 0 < end_ms <= signalled_ms
    row = {"signal": sig.name, "fraction": round(fraction, 3), "exit": proc.returncode,
           "completed_first": completed or finished_before_signal, "status": status,
           **inspect(project / "data", baseline)}
    row["mislabelled"] = not row["completed_first"] and status == "FINISHED"
    return row


def disk_full(project: Path, pipeline: str, layer: str) -> dict[str, Any]:
    folder = project / "data" / layer
    keep = Path(tempfile.mkdtemp(prefix="dhs_layer_"))
    shutil.copytree(folder, keep / layer)
    used = sum(p.stat().st_blocks * 512 if p.is_file() else 4096 for p in folder.rglob("*"))  # tmpfs pages
    size_kib = used // 1024 + 8  # the old files fit; a second copy of any file over ~8 KiB does not
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)], check=True)
    try:
        shutil.copytree(keep / layer, folder, dirs_exist_ok=True)
        baseline = snapshot(folder)
        code, seconds, tail = kedro_run(project, pipeline)
        result = {"layer": layer, "tmpfs_kib": size_kib, "exit": code, "status": runs(project)[-1][1],
                  **inspect(folder, baseline), "error_tail": tail[-400:]}
        result["changed"] = sorted(rel for rel, digest in snapshot(folder).items() if baseline.get(rel) not in (None, digest))
    finally:
        subprocess.run(["umount", str(folder)], check=False)
        shutil.rmtree(keep, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipeline", required=True)
    parser.add_argument("--kills", type=int, default=10, help="kills per signal")
    parser.add_argument("--signals", nargs="+", default=["KILL", "INT"], choices=["KILL", "INT", "TERM"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--project", type=Path, help="an existing copy to use (default: a fresh copy in a temp folder)")
    parser.add_argument("--disk-full", metavar="LAYER", help="also fill a tmpfs mounted over data/LAYER (root)")
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)

    project = args.project or copy_project(Path(tempfile.mkdtemp(prefix="dhs_kill_")) / "dark-halo-scope")
    code, duration, tail = kedro_run(project, args.pipeline)
    if code != 0:
        print(tail, file=sys.stderr)
        print(f"the clean run of '{args.pipeline}' failed ({code}); nothing to study", file=sys.stderr)
        return 1
    baseline = snapshot(project / "data")
    _, _, start_ms, end_ms = runs(project)[-1]
    node_phase = (end_ms - start_ms) / 1000
    rng = random.Random(args.seed)
    rows = []
    for name in args.signals:
        for _ in range(args.kills):
            row = kill_once(project, args.pipeline, signal.Signals[f"SIG{name}"], rng.uniform(0.0, 0.95), node_phase, baseline)
            rows.append(row)
            print(json.dumps(row), flush=True)
    code, _, tail = kedro_run(project, args.pipeline)
    statuses = [r[1] for r in runs(project)]
    final = {"exit": code, "temporary_left": inspect(project / "data", baseline)["temporary_left"],
             "still_running": statuses.count("RUNNING"),
             "statuses": {s: statuses.count(s) for s in ("FINISHED", "FAILED", "KILLED", "RUNNING")}}
    result: dict[str, Any] = {"pipeline": args.pipeline, "clean_run_s": round(duration, 1),
                              "node_phase_s": round(node_phase, 1), "kills": rows, "final": final,
                              "load_average": os.getloadavg()}
    killed = [r for r in rows if not r["completed_first"]]
    print(f"\n| pipeline | signal | kills | files lost | files corrupt | temp left (before next run) | mislabelled |")
    print("|---|---|---|---|---|---|---|")
    for name in args.signals:
        sub = [r for r in killed if r["signal"] == f"SIG{name}"]
        print(f"| {args.pipeline} | SIG{name} | {len(sub)} | {sum(len(r['lost']) for r in sub)} | "
              f"{sum(len(r['corrupt']) for r in sub)} | {sum(r['temporary_left'] for r in sub)} | "
              f"{sum(r['mislabelled'] for r in sub)} |")
    print(f"\nafter a final clean run: exit {final['exit']}, runs still RUNNING {final['still_running']}, "
          f"temporary files left {final['temporary_left']}, statuses {final['statuses']}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1, default=str))
    if args.disk_full:
        result["disk_full"] = d = disk_full(project, args.pipeline, args.disk_full)
        print(f"disk full under data/{d['layer']} ({d['tmpfs_kib']} KiB tmpfs): exit {d['exit']}, status {d['status']}, "
              f"lost {len(d['lost'])}, corrupt {len(d['corrupt'])}, changed {len(d['changed'])}, temp left {d['temporary_left']}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
