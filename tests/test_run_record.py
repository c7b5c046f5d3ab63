"""The run record is honest and configuration is checked before any node (docs/reliability.md).

A two-node Kedro project using this project's settings (hooks, config loader, atomic saves, .gitignore, .telemetry)
is run by the ``kedro`` CLI: Ctrl-C and SIGTERM mid-node end the MLflow run KILLED (mlflow's exit handler would say
FINISHED); a SIGKILLed run left RUNNING is marked KILLED by the next run, which also removes the killed run's
temporary file; bad parameters, ``project.strict`` with a skipped input and an unusable MLflow store fail before
any node with the key or the store's path; the run changes no tracked file.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
KEDRO = Path(sys.executable).parent / "kedro"

PIPELINE = '''
import os, time
from pathlib import Path
import fsspec
import pandas as pd
from kedro.pipeline import Pipeline, node
from pydantic import BaseModel, ConfigDict, Field


class TinyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(ge=1)


PARAMETERS = {"tiny": TinyConfig}


def make(params):
    table = pd.DataFrame({"galaxy": [f"G{i}" for i in range(params["n"])]})
    return table, pd.DataFrame({"galaxy": ["G_bad"], "path": ["rotmod/G_bad.dat"], "reason": ["truncated file"]})


def report(table):
    if os.environ.get("TINY_PAUSE"):  # tell the test the first node is done; go on when it says so
        pause = Path(os.environ["TINY_PAUSE"])
        (pause / "ready").write_text("ready")
        deadline = time.monotonic() + 60
        while not (pause / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    if os.environ.get("TINY_WAIT"):
        Path("data/08_reporting").mkdir(parents=True, exist_ok=True)
        with fsspec.filesystem("file").open("data/08_reporting/partial.bin", "wb") as fh:
            fh.write(b"x" * 100_000)
            fh.flush()
            Path(os.environ["TINY_WAIT"]).write_text("ready")
            time.sleep(120)
    return {"rows": len(table)}


def create_pipeline():
    return Pipeline([
        node(make, "params:tiny", ["table", "tiny_skipped"], name="make"),
        node(report, "table", "done", name="report"),
    ])
'''


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    _write(root / "pyproject.toml", """
        [tool.kedro]
        package_name = "tinyproj"
        project_name = "tiny"
        kedro_init_version = "1.7.0"
        source_dir = "src"
    """)
    _write(root / "src/tinyproj/__init__.py", "")
    _write(root / "src/tinyproj/settings.py", "from dark_halo_scope.settings import CONFIG_LOADER_ARGS, CONFIG_LOADER_CLASS, HOOKS\n")
    _write(root / "src/tinyproj/pipelines/__init__.py", "")
    _write(root / "src/tinyproj/pipelines/tiny.py", PIPELINE)
    _write(root / "src/tinyproj/pipeline_registry.py", """
        from .pipelines.tiny import create_pipeline
        def register_pipelines():
            return {"tiny": create_pipeline(), "__default__": create_pipeline()}
    """)
    _write(root / "conf/base/catalog.yml", """
        table: {type: pandas.ParquetDataset, filepath: "${globals:data_root}/03_primary/table.parquet"}
        done: {type: json.JSONDataset, filepath: "${globals:data_root}/08_reporting/done.json"}
    """)
    _write(root / "conf/base/globals.yml", "data_root: data\n")
    _write(root / "conf/base/parameters.yml", "project: {strict: false}\ntiny: {n: 3}\n")
    shutil.copy(REPO / "conf/base/mlflow.yml", root / "conf/base/mlflow.yml")
    (root / "conf/local").mkdir()
    (root / "conf/local/.gitkeep").touch()
    for name in (".gitignore", ".telemetry"):
        shutil.copy(REPO / name, root / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "tiny"], cwd=root, check=True)
    return root


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KEDRO_DISABLE_TELEMETRY", "MLFLOW_TRACKING_URI")}
    return {**env, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "200", **extra}


def kedro(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KEDRO), "run", *args], cwd=root, env=_env(), capture_output=True, text=True, timeout=300)


def runs(root: Path) -> list[dict]:
    con = sqlite3.connect(root / "mlflow.db")
    try:
        out = []
        for run_id, status in con.execute("SELECT run_uuid, status FROM runs ORDER BY start_time"):
            tags = dict(con.execute("SELECT key, value FROM tags WHERE run_uuid=?", (run_id,)).fetchall())
            out.append({"run_id": run_id, "status": status, "tags": tags})
        return out
    finally:
        con.close()


def test_bad_parameters_fail_before_any_node(tiny: Path) -> None:
    proc = kedro(tiny, "--params", "tiny.n=0,tiny.nn=2,projcet.strict=true")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "tiny.n: Input should be greater than or equal to 1" in out
    assert "tiny.nn: unknown key; allowed keys: n" in out
    assert "projcet: unknown parameter section; known sections: project, tiny" in out
    assert "Error: " in out and "Traceback" not in out and "╭" not in out  # a message, not a (rich) traceback
    assert "Running node" not in out
    assert not (tiny / "mlflow.db").exists() or not runs(tiny)


def _interrupt(root: Path, sig: int) -> dict:
    ready = root.parent / f"ready.{sig}"
    proc = subprocess.Popen([str(KEDRO), "run"], cwd=root, env=_env(TINY_WAIT=str(ready)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.poll() is not None else "timeout"
        time.sleep(0.2)
    proc.send_signal(sig)
    output = proc.communicate(timeout=60)[0]
    ready.unlink()
    assert proc.returncode != 0, output
    assert not (root / "data/08_reporting/partial.bin").exists(), "a partial file appeared under its real name"
    return runs(root)[-1]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_is_recorded_killed(tiny: Path, sig: int) -> None:
    run = _interrupt(tiny, sig)
    assert run["status"] == "KILLED"
    assert run["tags"]["pid"].isdigit() and run["tags"]["host"]


def test_sigkilled_run_is_marked_by_the_next_run_which_cleans_up_and_summarises(tiny: Path) -> None:
    ready = tiny.parent / "ready.kill"
    proc = subprocess.Popen([str(KEDRO), "run"], cwd=tiny, env=_env(TINY_WAIT=str(ready)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    proc.kill()
    proc.wait(30)
    killed = runs(tiny)[-1]
    assert killed["status"] == "RUNNING"
    leftovers = [p for p in (tiny / "data/08_reporting").iterdir() if p.name.startswith(".partial.bin.")]
    assert len(leftovers) == 1

    before = (tiny / "pyproject.toml").read_bytes()
    proc = kedro(tiny)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert not leftovers[0].exists()
    by_id = {r["run_id"]: r for r in runs(tiny)}
    assert by_id[killed["run_id"]]["status"] == "KILLED"
    last = runs(tiny)[-1]
    assert last["status"] == "FINISHED"
    assert last["tags"]["mlflow.runName"].startswith("__default__ [local] ")
    assert last["tags"]["runner"] == "SequentialRunner" and last["tags"]["pipeline"] == "__default__"
    assert "Run summary: pipeline '__default__', environment 'local'" in out
    assert "tiny_skipped: galaxy=G_bad, path=rotmod/G_bad.dat — truncated file" in out
    assert "MLflow run " + last["run_id"] in out
    con = sqlite3.connect(tiny / "mlflow.db")
    kind = con.execute("SELECT value FROM experiment_tags WHERE key='mlflow.experimentKind'").fetchall()
    con.close()
    assert kind == [("custom_model_development",)]
    assert (tiny / "pyproject.toml").read_bytes() == before, "kedro-telemetry wrote to pyproject.toml"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=tiny, capture_output=True, text=True, check=True)
    assert status.stdout == "", "a run modified or created files git would track"


def test_strict_makes_a_skipped_input_an_error(tiny: Path) -> None:
    proc = kedro(tiny, "--params", "project.strict=true")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "skipped 1 input(s) and project.strict is true" in out
    assert runs(tiny)[-1]["status"] == "FAILED"
    # the pipeline's own error is the last one the user sees (kedro-mlflow's hook must still find the run open)
    assert "UnboundLocalError" not in out, out[-3000:]


def test_unusable_mlflow_store_fails_before_any_node(tiny: Path) -> None:
    store = tiny / "broken" / "mlflow.db"
    store.parent.mkdir()
    store.write_bytes(b"this is not a database" * 100)
    _write(tiny / "conf/broken/mlflow.yml", f"server:\n  mlflow_tracking_uri: sqlite:///{store}\n")
    proc = kedro(tiny, "--env", "broken")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert str(store) in out.replace("\n", "") and "No node was run" in out
    assert "Running node" not in out


def _unwritable_mid_run(root: Path, *, recover: bool) -> tuple[subprocess.Popen, str]:
    """Run the tiny pipeline; after its first node make the MLflow store unwritable (sqlite cannot create its
    journal: every write fails, as on a read-only or locked store, but at once), and writable again when the hook
    says it is retrying (``recover``) or only after the run has ended."""
    if not (root / "mlflow.db").exists():
        assert kedro(root).returncode == 0
    pause = root.parent / "pause"
    shutil.rmtree(pause, ignore_errors=True)
    pause.mkdir()
    journal = root / "mlflow.db-journal"
    env = _env(TINY_PAUSE=str(pause), DHS_MLFLOW_STORE_RETRY_S="20" if recover else "1")
    proc = subprocess.Popen([str(KEDRO), "run"], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 120
    while not (pause / "ready").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.poll() is not None else "timeout"
        time.sleep(0.1)
    journal.mkdir()
    (pause / "go").write_text("go")
    lines = []
    for line in proc.stdout:  # until the hook reports the store
        lines.append(line)
        if recover and "retrying" in line:
            journal.rmdir()
            break
    output = "".join(lines) + proc.communicate(timeout=120)[0]
    if journal.exists():
        journal.rmdir()
    return proc, output


@pytest.mark.parametrize("recover", [True, False])
def test_store_unwritable_mid_run_is_never_recorded_finished(tiny: Path, recover: bool) -> None:
    proc, out = _unwritable_mid_run(tiny, recover=recover)
    flat = out.replace("\n", "")
    assert proc.returncode != 0, out
    assert f"MLflow tracking store '{tiny / 'mlflow.db'}' cannot be written" in re.sub(r"\s+", " ", flat) or \
        str(tiny / "mlflow.db") in flat, out
    last = runs(tiny)[-1]
    if recover:  # the store came back while the hook retried: FAILED
        assert last["status"] == "FAILED", out
    else:  # never writable again before the run ended: an error naming the store, and no status at all
        assert last["status"] == "RUNNING" and "could not be recorded FAILED" in re.sub(r"\s+", " ", out), out


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the discarded interrupt itself
def test_an_interrupt_python_discarded_is_raised_at_the_next_node_boundary() -> None:
    """Python ignores an exception raised in a finaliser or a fork's lock release (the kill study lost 2 of 4
    Ctrl-C there): the hook remembers the signal and raises it again before or after the next node."""
    from dark_halo_scope.hooks import RunInterrupted, RunRecordHook

    hook = RunRecordHook()
    hook.before_node_run(node=None)  # nothing pending
    previous = signal.getsignal(signal.SIGINT)
    hook._previous_signals = {signal.SIGINT: signal.signal(signal.SIGINT, hook._on_signal)}
    try:
        def finaliser() -> None:  # a signal arriving here: Python prints "Exception ignored in" and goes on
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)

        import weakref

        class Box:
            pass

        box = Box()
        weakref.finalize(box, finaliser)
        del box  # the finaliser runs; its RunInterrupted is discarded
        with pytest.raises(RunInterrupted, match="SIGINT"):
            hook.after_node_run(node=None, outputs={})
    finally:
        hook._restore_signals()
    assert signal.getsignal(signal.SIGINT) is previous
