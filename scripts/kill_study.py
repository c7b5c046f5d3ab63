"""Kill every pipeline at random moments and count what was lost, corrupted or mislabelled (docs/reliability.md).

Usage (from the project root; the study runs in a scratch copy of the project, never in this checkout's data)::

    nice -n 5 uv run --locked python scripts/kill_study.py --out /tmp/kill_study.json
    nice -n 5 uv run --locked python scripts/kill_study.py --pipelines glens --project /tmp/h5proj/glens \
        --seed 2 --kill-until 2026-11-29T23:17 --out /tmp/h5out/glens.json    # one pipeline; cut short at a time
    uv run --locked python scripts/kill_study.py --report /tmp/h5out/*.json    # the Markdown table of result files
    uv run --locked python scripts/kill_study.py --pipelines rs_ilg --disk-full 08_reporting   # root: tmpfs

A script, not a test (about an hour on two cores); it is kept out of CI. The copy runs under its own
configuration environment ``conf/kill_study`` (:data:`SMALL`, written into the copy): the embedded default with
smaller sizes, so that a run takes tens of seconds (rs_ilg 3 galaxies and coarser grids; glens, dhs and the
ablation studies fewer samples, rows and epochs). Pipelines run in the order given, in one copy: ``ablations``
reads rs_ilg's tables, which the earlier pipelines leave there.

Per pipeline:

1. a clean *reference* run; its wall time and its node phase (MLflow run start to end) are measured;
2. for each signal, ``--kills`` times: ``kedro run`` starts (over the outputs of the earlier runs) in its own
   process group; once its MLflow run exists the group receives the signal after a uniformly random fraction
   (seeded) of the reference node phase — SIGINT as a terminal's Ctrl-C, SIGKILL as a job killed outright.
   The node running at that moment is read from the run's log (Kedro's ``Running node``/``Completed node``).
   Then every file under ``data/`` is checked (:func:`check_file`): *lost* (a file of the reference run that no
   longer exists), *corrupt* (does not load with its reader: parquet, CSV, JSON, YAML, pickle, PNG, FITS, npz/npy,
   ``torch.load(weights_only=True)`` for ``.pt``/``.ckpt``, text; every stamp store through
   ``dhs_inject.store.verify_store``), *temporary* files (``.<name>.dhs-…part|stage`` of ``atomic.py``, the store's
   ``.<part>.<pid>.<hex>.tmp``, any other dot-file); a temporary file still present after the *next* run started
   is *left behind*;
3. one uninterrupted run, which must exit 0, leave no temporary file and give the reference run's tables
   (every parquet, CSV and JSON the reference run wrote, compared by content; volatile JSON keys such as
   timings are reported, not hidden);
4. the MLflow status of every killed run, read after the final run: it must be KILLED or FAILED (a SIGKILLed
   run is RUNNING until the next run on the host marks it), never FINISHED or RUNNING (*mislabelled*).

Writes ``--out`` (JSON) after every kill and prints a Markdown table at the end.
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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
KEDRO = Path(sys.executable).parent / "kedro"
ENV = "kill_study"
PIPELINES = ("rs_ilg", "glens", "dhs_gates", "ablations")
STAGES = ("dhs_inject", "dhs_train", "dhs_gates", "ablation_studies", "ablations", "rs_ilg", "glens")
# temporary names: atomic.py's files/folders, the stamp store's parts, Lightning's and anything else hidden
TEMP = re.compile(r"^\..+\.(?:dhs-[^-]+-\d+-[0-9a-f]{8}\.(?:part|stage)|\d+\.[0-9a-f]+\.tmp)$|.*\.(?:tmp|part)$")
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "data", "mlflow.db", "mlruns", "build", "dist", "__pycache__",
                                     ".pytest_cache", ".hypothesis", ".ruff_cache", "*.egg-info", ".viz")

# conf/kill_study/parameters.yml of the copy (merged softly over conf/base): smaller sizes, same code paths
SMALL = """\
rs_ilg:
  run:
    limit: 3
    grid2d: {nx: 32}
    grid3d: {nx: 16}
    features: {nx: 24, ny: 24}
glens:
  experiment: {n_train: 16, n_val: 8, n_test: 8, epochs: 1, patience: 1}
  sweep:
    channel_modes: [flux]
    factors: [0.3]
    settings: {epochs: 1, n_train: 10}
dhs_inject:
  manifest: {replicates: 1}
dhs_train:
  train: {epochs: 1, patience: 1, checkpoint_every: 1}
dhs_gates:
  config: {n_splits: 3, max_model_rows: 200, max_ks_rows: 2000}
ablation_studies:
  mitigation:
    study:
      train: {epochs: 1, patience: 1, checkpoint_every: 1}
      gates: {max_rows: 100, n_splits: 3}
  preproc_pairing:
    study: {seeds: [0], max_rows: 100, n_splits: 3}
  glens_channels:
    study:
      experiment: {n_train: 10, n_val: 8, n_test: 8, epochs: 1, patience: 1}
      channel_modes: [flux]
  centre_masked:
    study: {max_rows: 100}
"""
# plain log lines (no rich wrapping), so that the node running at the signal can be read back
LOGGING = """\
version: 1
disable_existing_loggers: false
formatters:
  plain: {format: "%(asctime)s %(levelname)s %(name)s: %(message)s"}
handlers:
  console: {class: logging.StreamHandler, formatter: plain, stream: ext://sys.stderr}
root: {handlers: [console], level: INFO}
"""


def copy_project(dest: Path) -> Path:
    """A copy of this checkout with empty data layers, its own git repository and the study's environment."""
    shutil.copytree(REPO, dest, ignore=COPY_IGNORE)
    for layer in ("01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input", "06_models",
                  "07_model_output", "08_reporting"):
        (dest / "data" / layer).mkdir(parents=True)
        (dest / "data" / layer / ".gitkeep").touch()
    git = ["git", "-c", "user.name=study", "-c", "user.email=study@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "copy"]):
        subprocess.run([*git, *args], cwd=dest, check=True)
    return dest


def prepare(project: Path) -> None:
    """Write the study's configuration environment and logging configuration into the copy."""
    (project / "conf" / ENV).mkdir(parents=True, exist_ok=True)
    (project / "conf" / ENV / "parameters.yml").write_text(SMALL)
    (project / "conf" / ENV / "logging.yml").write_text(LOGGING)


def environment(project: Path) -> dict[str, str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "KEDRO_DISABLE_TELEMETRY": "1", "KEDRO_LOGGING_CONFIG": str(project / "conf" / ENV / "logging.yml")}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.setdefault("DHS_SHARED", str(REPO.parent / "shared"))
    # the copy's own code first (the workspace packages are installed editable from this checkout, which may change)
    paths = [*sorted(str(p) for p in (project / "packages").glob("*/src")), str(project / "pipelines")]
    env["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [env.get("PYTHONPATH")])])
    return env


def command(pipeline: str) -> list[str]:
    return [str(KEDRO), "run", "--pipelines", pipeline, "--env", ENV]


def check_file(path: Path) -> str | None:
    """Why ``path`` is corrupt, or ``None`` when it loads with its reader."""
    name = path.name.lower()
    suffix = path.suffix.lower()
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
        elif suffix in (".yml", ".yaml"):
            import yaml

            yaml.safe_load(path.read_text())
        elif suffix == ".pkl":
            with path.open("rb") as fh:
                pickle.load(fh)  # noqa: S301 - files this study's own runs wrote
        elif suffix == ".png":
            data = path.read_bytes()
            if not (data.startswith(b"\x89PNG\r\n\x1a\n") and data[-12:-4] == b"\x00\x00\x00\x00IEND"):
                return "PNG without its IEND chunk"
        elif name.endswith((".fits", ".fits.gz", ".fit")):
            from astropy.io import fits

            with fits.open(path) as hdul:
                hdul.verify("exception")
                for hdu in hdul:
                    _ = hdu.data
        elif suffix in (".npz", ".npy"):
            import numpy as np

            loaded = np.load(path, allow_pickle=False)
            if suffix == ".npz":
                with loaded as npz:
                    for key in npz.files:
                        _ = npz[key]
        elif suffix in (".pt", ".pth", ".ckpt"):
            import torch

            torch.load(path, weights_only=True, map_location="cpu")
        elif suffix in (".md", ".txt", ".html", ".dat", ".mrt", ".ecsv"):
            path.read_text(encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - any failure to load is what is counted
        return f"{type(exc).__name__}: {str(exc)[:160]}"
    return None


def stores(data: Path) -> list[Path]:
    """Stamp store folders under ``data`` (hive-partitioned ``split=<name>/`` parquet parts)."""
    return sorted({p.parent for p in data.rglob("split=*") if p.is_dir() and not TEMP.match(p.parent.name)})


def check_store(path: Path) -> str | None:
    from dhs_inject.store import verify_store

    try:
        report = verify_store(path)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {str(exc)[:160]}"
    return None if report.get("ok") else f"verify_store: {report.get('problems')}"[:300]


def is_temp(rel: str) -> bool:
    return any(TEMP.match(part) for part in rel.split("/"))


def snapshot(data: Path) -> dict[str, tuple[str, float]]:
    """Relative path → (SHA-256, mtime) of every regular non-temporary file under ``data``."""
    out = {}
    for path in sorted(data.rglob("*")):
        rel = path.relative_to(data).as_posix()
        if path.is_file() and not is_temp(rel) and path.name != ".gitkeep":
            out[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime)
    return out


def temporaries(data: Path) -> list[str]:
    return sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if TEMP.match(p.name) or
                  (p.name.startswith(".") and p.name != ".gitkeep"))


def inspect(data: Path, baseline: dict[str, Any]) -> dict[str, Any]:
    now = snapshot(data)
    corrupt = {rel: why for rel in now if (why := check_file(data / rel))}
    corrupt |= {f"{s.relative_to(data).as_posix()}/ (store)": why for s in stores(data) if (why := check_store(s))}
    return {"lost": sorted(set(baseline) - set(now)), "corrupt": corrupt, "temporary": temporaries(data)}


def runs(project: Path) -> dict[str, tuple[str, int, int]]:
    """Top-level MLflow runs: ``run_id → (status, start_ms, end_ms)``."""
    if not (project / "mlflow.db").exists():
        return {}
    con = sqlite3.connect(project / "mlflow.db", timeout=30)
    try:
        rows = con.execute(
            "SELECT run_uuid, status, start_time, COALESCE(end_time, 0) FROM runs WHERE run_uuid NOT IN "
            "(SELECT run_uuid FROM tags WHERE key = 'mlflow.parentRunId') ORDER BY start_time"
        ).fetchall()
    except sqlite3.OperationalError:  # the schema is being created by the run that just started
        return {}
    finally:
        con.close()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def node_at(log: str) -> dict[str, Any]:
    """The node running when the log stopped: Kedro's last ``Running node`` after the last ``Completed node``."""
    completed = [m.group(1) for m in re.finditer(r"Completed node: (\S+)", log)]
    running = [(m.start(), m.group(1)) for m in re.finditer(r"Running node: (.+)", log)]
    last_done = log.rfind("Completed node: ")
    total = re.findall(r"Completed (\d+) out of (\d+) tasks", log)
    after = [text for pos, text in running if pos > last_done]
    if after:
        text = after[-1]
        outputs = re.search(r"-> \[?([^;\]\s]+)", text)
        output = outputs.group(1) if outputs else ""
        where = f"{text.split(':', 1)[0]} -> {output}"
    elif not completed:
        return {"node": "(before the first node)", "stage": "startup", "completed": 0}
    elif total and total[-1][0] == total[-1][1]:
        return {"node": "(after the last node)", "stage": "end", "completed": len(completed)}
    else:
        where, output = f"(between nodes, after {completed[-1]})", completed[-1]
    stage = next((s for s in STAGES if output.startswith(s + ".") or output.startswith(s + "_")), output.split(".")[0])
    return {"node": where, "stage": stage, "completed": len(completed)}


def node_phase(project: Path) -> float:
    """Node phase (MLflow start to end, s) of the latest run that finished: the measured duration a kill draws from.

    The latest, not the reference run: the first run of a copy also generates the mock inputs and fills caches,
    and the load of the shared machine changes, so a fraction of an old duration lands after the run ended.
    """
    done = [(end - start) / 1000 for status, start, end in runs(project).values() if status == "FINISHED" and end]
    return done[-1]


def kedro_run(project: Path, pipeline: str, log: Path, timeout: float = 3600) -> tuple[int, float]:
    start = time.monotonic()
    with log.open("w") as fh:
        proc = subprocess.run(command(pipeline), cwd=project, env=environment(project), stdout=fh,
                              stderr=subprocess.STDOUT, timeout=timeout)
    return proc.returncode, time.monotonic() - start


def kill_once(project: Path, pipeline: str, sig: signal.Signals, fraction: float, node_phase_s: float,
              baseline: dict[str, Any], log: Path) -> dict[str, Any]:
    """Start a run; once its MLflow run exists wait ``fraction`` of the reference node phase and signal its
    process group; then inspect every file and the run's recorded status."""
    before = set(runs(project))
    started = time.monotonic()
    with log.open("w") as fh:
        proc = subprocess.Popen(command(pipeline), cwd=project, env=environment(project), stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
        new: list[str] = []
        while proc.poll() is None and not new:
            new = [r for r in runs(project) if r not in before]
            time.sleep(0.3)
        time.sleep(fraction * node_phase_s)
        completed = proc.poll() is not None
        signalled_ms = time.time() * 1000
        if not completed:
            os.killpg(proc.pid, sig)
        try:
            proc.wait(180)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    after = runs(project)
    new = [r for r in after if r not in before]
    run_id = new[-1] if new else None
    status, _, end_ms = after[run_id] if run_id else ("no run", 0, 0)
    row = {"signal": sig.name, "fraction": round(fraction, 3), "node_phase_s": round(node_phase_s, 1), "at_s": round(time.monotonic() - started, 1),
           "exit": proc.returncode, "run_id": run_id, "status_at_exit": status,
           "completed_first": completed or (status == "FINISHED" and 0 < end_ms <= signalled_ms),
           **node_at(log.read_text(errors="replace")), **inspect(project / "data", baseline)}
    return row


def same_table(a: Path, ref_dir: Path, rel: str) -> str | None:
    """``None`` when ``a`` equals the reference copy ``ref_dir/rel`` by content, else what differs."""
    ref = ref_dir / rel
    if a.read_bytes() == ref.read_bytes():
        return None
    if a.suffix == ".json":
        x, y = json.loads(a.read_text()), json.loads(ref.read_text())
        if isinstance(x, dict) and isinstance(y, dict):
            keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
            return f"json keys differ: {keys[:8]}" if keys else None
        return "json differs"
    import pandas as pd

    read = pd.read_parquet if a.suffix == ".parquet" else pd.read_csv
    x, y = read(a), read(ref)
    if list(x.columns) != list(y.columns) or len(x) != len(y):
        return f"shape/columns differ: {x.shape} vs {y.shape}"
    cols = []
    for col in x.columns:
        try:
            pd.testing.assert_series_equal(x[col], y[col], check_exact=False, rtol=1e-9, atol=0, check_dtype=False)
        except (AssertionError, TypeError, ValueError):
            cols.append(col)
    return f"columns differ: {cols[:8]}" if cols else None


def study(project: Path, pipeline: str, kills: int, signals: list[str], rng: random.Random, logs: Path,
          result: dict[str, Any], save: Any, kill_until: float = float("inf")) -> None:
    """Fill ``result`` with the reference run, the kills and the final run of ``pipeline``."""
    data = project / "data"
    t0 = time.time()
    ref_dir = logs / f"{pipeline}-reference-tables"
    meta = logs / f"{pipeline}-reference.json"
    if meta.exists():  # --project reused: the reference run of an earlier, interrupted study
        result |= json.loads(meta.read_text()) | {"reference_reused": True}
    else:
        code, duration = kedro_run(project, pipeline, logs / f"{pipeline}-reference.log")
        result |= {"reference_exit": code, "reference_s": round(duration, 1)}
        if code != 0:
            result["error"] = (logs / f"{pipeline}-reference.log").read_text()[-2000:]
            return
        written = sorted(rel for rel, (_, mtime) in snapshot(data).items() if mtime >= t0)
        tables = [rel for rel in written if rel.endswith((".parquet", ".csv", ".json")) and "split=" not in rel]
        for rel in tables:
            (ref_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(data / rel, ref_dir / rel)
        status, start_ms, end_ms = list(runs(project).values())[-1]
        result |= {"node_phase_s": round((end_ms - start_ms) / 1000, 1), "files_written": len(written),
                   "tables": tables}
        meta.write_text(json.dumps({k: result[k] for k in ("reference_exit", "reference_s", "node_phase_s",
                                                            "files_written", "tables")}))
    baseline = snapshot(data)
    tables = result["tables"]
    result["kills"] = []
    previous_temps: list[str] = []
    result["kills_skipped"] = {}
    for i in range(kills):  # the signals alternate, so that a study cut short by --kill-until has both
        for name in signals:
            if time.time() > kill_until:
                result["kills_skipped"][f"SIG{name}"] = result["kills_skipped"].get(f"SIG{name}", 0) + 1
                continue
            row = kill_once(project, pipeline, signal.Signals[f"SIG{name}"], rng.uniform(0.0, 1.0), node_phase(project),
                            baseline, logs / f"{pipeline}-{name}-{i}.log")
            row["left_behind"] = sorted(set(previous_temps) & set(row["temporary"]))
            previous_temps = row["temporary"]
            result["kills"].append(row)
            print(json.dumps({"pipeline": pipeline, **{k: row[k] for k in (
                "signal", "at_s", "status_at_exit", "stage", "node", "lost", "corrupt", "temporary")}}), flush=True)
            save()
    code, final_s = kedro_run(project, pipeline, logs / f"{pipeline}-final.log")
    final = inspect(data, baseline)
    final["left_behind"] = sorted(set(previous_temps) & set(final["temporary"]))
    differ = {}
    for rel in tables:
        if not (data / rel).exists():
            differ[rel] = "missing"
        elif why := same_table(data / rel, ref_dir, rel):
            differ[rel] = why
    statuses = runs(project)
    for row in result["kills"]:
        row["status_after_next_run"] = statuses.get(row["run_id"], ("no run",))[0]
        # the signal was lost (CPython drops a KeyboardInterrupt raised inside a weakref callback, __del__ or an
        # at-fork handler: "Exception ignored in ..."): the run did all its work and says so — not mislabelled
        row["signal_lost"] = not row["completed_first"] and row["exit"] == 0 and row["stage"] == "end"
        row["mislabelled"] = (not row["completed_first"] and not row["signal_lost"]
                              and row["status_after_next_run"] not in ("KILLED", "FAILED"))
    result["final"] = {"exit": code, "wall_s": round(final_s, 1), **final, "tables_differ": differ,
                       "runs_running": [r for r, v in statuses.items() if v[0] == "RUNNING"]}
    result["wall_s"] = round(time.time() - t0, 1)


def summary(results: list[dict[str, Any]], signals: list[str]) -> str:
    lines = ["| pipeline | signal | kills (runs interrupted) | nodes hit (stages) | files lost | files corrupt | "
             "temp files left after the next run | runs mislabelled | signal lost (run finished) | final run clean, same tables |",
             "|---" * 10 + "|"]
    for res in results:
        if "kills" not in res:
            lines.append(f"| {res['pipeline']} | — | reference run failed (exit {res['reference_exit']}) |||||||")
            continue
        final = res.get("final", {})
        for name in signals:
            sub = [r for r in res["kills"] if r["signal"] == f"SIG{name}"]
            hit = [r for r in sub if not r["completed_first"]]
            stages: dict[str, int] = {}
            for r in hit:
                stages[r["stage"]] = stages.get(r["stage"], 0) + 1
            differ = [k for k, v in final.get("tables_differ", {}).items() if v != "json keys differ: ['thresholds_file']"]
            clean = (final.get("exit") == 0 and not final.get("temporary") and not differ
                     and not final.get("lost") and not final.get("corrupt"))
            lines.append(
                f"| {res['pipeline']} | SIG{name} | {len(sub)} ({len(hit)}) | {len({r['node'] for r in hit})} "
                f"({', '.join(f'{k} {v}' for k, v in sorted(stages.items()))}) | {sum(len(r['lost']) for r in sub)} | "
                f"{sum(len(r['corrupt']) for r in sub)} | {sum(len(r['left_behind']) for r in sub)} | "
                f"{sum(bool(r.get('mislabelled')) and not r.get('signal_lost', r['exit'] == 0 and r['stage'] == 'end') for r in sub)} | "
                f"{sum(not r['completed_first'] and r['exit'] == 0 and r['stage'] == 'end' for r in sub)} | "
                f"{'yes' if clean else 'NO'} |")
    return "\n".join(lines)


def disk_full(project: Path, pipeline: str, layer: str, log: Path) -> dict[str, Any]:
    """Mount a tmpfs just larger than ``data/LAYER`` over it (root) and rerun: the run must fail cleanly."""
    folder = project / "data" / layer
    keep = Path(tempfile.mkdtemp(prefix="dhs_layer_"))
    shutil.copytree(folder, keep / layer)
    used = sum(p.stat().st_blocks * 512 if p.is_file() else 4096 for p in folder.rglob("*"))  # tmpfs pages
    size_kib = used // 1024 + 8  # the old files fit; a second copy of any file over ~8 KiB does not
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)], check=True)
    try:
        shutil.copytree(keep / layer, folder, dirs_exist_ok=True)
        baseline = snapshot(folder)
        code, _ = kedro_run(project, pipeline, log)
        result = {"layer": layer, "tmpfs_kib": size_kib, "exit": code, "status": list(runs(project).values())[-1][0],
                  **inspect(folder, baseline), "error_tail": log.read_text()[-400:]}
        result["changed"] = sorted(rel for rel, (digest, _) in snapshot(folder).items()
                                   if baseline.get(rel, (digest,))[0] != digest)
    finally:
        # a worker process of the failed run may still hold a file open for a moment: retry, then detach lazily,
        # so a full tmpfs is never left over the layer for the next measurement
        for _ in range(5):
            if subprocess.run(["umount", str(folder)], check=False).returncode == 0:
                break
            time.sleep(2.0)
        else:
            subprocess.run(["umount", "-l", str(folder)], check=True)
        shutil.rmtree(keep, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipelines", nargs="+", default=list(PIPELINES))
    parser.add_argument("--kills", type=int, default=10, help="kills per signal and pipeline")
    parser.add_argument("--signals", nargs="+", default=["KILL", "INT"], choices=["KILL", "INT", "TERM"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--project", type=Path, help="the scratch copy (made when absent; default: a temp folder)")
    parser.add_argument("--report", type=Path, nargs="+", help="only print the table of these result files")
    parser.add_argument("--disk-full", metavar="LAYER", help="then fill a tmpfs mounted over data/LAYER (root)")
    parser.add_argument("--kill-until", type=datetime.fromisoformat, metavar="ISO-TIME",
                        help="start no kill after this time (UTC), then do the final run (a study cut short)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "kill_study.json")
    args = parser.parse_args(argv)
    # a shell without job control starts background commands (`... &`, nohup) with SIGINT ignored, and the kedro
    # runs would inherit that: Ctrl-C would never reach them. Restore Python's handler (the runs then get SIG_DFL).
    signal.signal(signal.SIGINT, signal.default_int_handler)

    if args.report:
        results = [res for f in args.report for res in json.loads(f.read_text())["results"]]
        print(summary(results, json.loads(args.report[0].read_text())["signals"]))
        return 0
    project = args.project or Path(tempfile.mkdtemp(prefix="dhs_kill_")) / "dark-halo-scope"
    if project.resolve() == REPO:
        parser.error("--project must be a scratch copy, not this checkout")
    if not project.exists():
        copy_project(project)
    prepare(project)
    logs = args.out.with_suffix(".logs")
    logs.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    results: list[dict[str, Any]] = []
    doc: dict[str, Any] = {"project": str(project), "env": ENV, "seed": args.seed, "kills": args.kills,
                           "signals": args.signals, "small_parameters": SMALL, "results": results}

    def save() -> None:
        doc["load_average"] = os.getloadavg()
        args.out.write_text(json.dumps(doc, indent=1, default=str))

    t0 = time.time()
    for pipeline in args.pipelines:
        results.append({"pipeline": pipeline})
        until = args.kill_until.replace(tzinfo=args.kill_until.tzinfo or timezone.utc).timestamp() if args.kill_until \
            else float("inf")
        study(project, pipeline, args.kills, args.signals, rng, logs, results[-1], save, until)
        save()
    doc["wall_s"] = round(time.time() - t0, 1)
    if args.disk_full:
        doc["disk_full"] = disk_full(project, args.pipelines[-1], args.disk_full, logs / "disk-full.log")
    save()
    print(summary(results, args.signals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
