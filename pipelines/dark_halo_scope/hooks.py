"""The run record: honest MLflow status, provenance, configuration checked before work, an end-of-run summary.

kedro-mlflow (registered through its entry point) opens the MLflow run in ``before_pipeline_run``, logs
``params:*`` and ends the run as FINISHED (``after_pipeline_run``) or FAILED (``on_pipeline_error``). These hooks
add what it does not do (docs/reliability.md):

:class:`RunRecordHook`
    - when the context is created, before any node: removes temporary files left under the environment's data
      root by killed runs (:func:`dark_halo_scope.atomic.clean_stale`); refuses an unwritable MLflow store with
      its path; validates every parameter (:mod:`dark_halo_scope.validation`);
    - when the run starts: tags ``host``, ``pid``, ``env``, ``data_root``, ``pipeline`` and readable run
      parameters; names the run ``<pipeline> [<env>] <UTC time>``; opens the experiment on the classic runs view;
      marks runs left RUNNING by a dead process of this host as KILLED; turns SIGTERM into an interruption;
      remembers a SIGINT/SIGTERM and raises it again at the next node boundary (Python discards an interrupt
      raised inside a finaliser or a fork's lock release, so Ctrl-C there would otherwise be lost);
    - a run interrupted by SIGINT/SIGTERM is ended KILLED, never FINISHED (mlflow's own exit handler would
      record FINISHED); a failed run, or one whose record could not be completed (the MLflow store locked or
      unwritable mid-run), is ended FAILED, retrying for ``DHS_MLFLOW_STORE_RETRY_S`` seconds (default 30)
      while the store cannot be written; if it never can, an error names the store's path and no status is
      written (the run stays RUNNING, and the next run marks it KILLED) — never FINISHED;
    - collects every node output named ``*skipped`` (a table with a ``reason`` column): listed in the summary,
      an error with ``project.strict: true``;
    - logs every figure that is not already an MLflow artefact (plain ``matplotlib.MatplotlibDataset`` entries,
      partitioned previews) as an artefact;
    - prints where the tables, figures and MLflow run are.

:class:`ProvenanceHook`
    - tags ``git_commit`` and ``git_dirty``;
    - every file-backed input (a free input of the pipeline, or in the ``raw`` layer) is logged with MLflow's
      dataset API (``mlflow.log_input``: name, source, SHA-256 digest) and as param ``input_sha256.<dataset>``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import click
import psutil
from kedro.framework.hooks import hook_impl

from . import atomic
from .validation import ParameterError, collect_registry, read_sections, validate_parameters

log = logging.getLogger(__name__)

FIGURE_SUFFIXES = {".png", ".pdf", ".svg", ".jpg", ".jpeg"}
TABLE_SUFFIXES = {".parquet", ".csv", ".json", ".fits"}


class RunConfigurationError(click.ClickException):
    """The run cannot start or go on: bad parameters, an unusable MLflow store, a skipped input under
    ``project.strict``. A ``click`` exception, so the ``kedro`` command prints "Error: <message>" without a
    traceback and exits 1; in Python it is an ordinary exception."""


class RunInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM, raised like Ctrl-C so that the run unwinds and is recorded as KILLED."""


def git_state(cwd: Path) -> tuple[str, bool]:
    """Return ``(commit, dirty)`` for the repository at ``cwd`` (``("unknown", False)`` outside git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False
    return commit, bool(status.strip())


def dataset_path(dataset: Any) -> Path | None:
    """The local file or folder behind a dataset (a kedro-mlflow wrapper's wrapped file), if it exists."""
    described = dataset._describe() if hasattr(dataset, "_describe") else {}
    raw = described.get("filepath") or described.get("path") or getattr(dataset, "_filepath", None)
    if raw is None:
        return None
    path = Path(str(raw))
    return path if path.exists() else None


def readable(value: Any) -> str:
    """A tag value a person can read: lists joined by commas, mappings as sorted JSON, at most 5000 characters."""
    if isinstance(value, (list, tuple, set)):
        text = ",".join(str(v) for v in value)
    elif isinstance(value, Mapping):
        text = json.dumps(dict(value), sort_keys=True, default=str)
    elif isinstance(value, str):  # Kedro records the runner as its repr: keep the class name
        match = re.fullmatch(r"<(?:[\w.]+\.)?(\w+) object at 0x[0-9a-f]+>", value)
        text = match.group(1) if match else value
    elif isinstance(value, (int, float, bool)):
        text = str(value)
    else:  # an object (e.g. the runner): its class, not its repr with a memory address
        text = type(value).__name__
    return text[:5000]


def tracking_store_path(uri: str, cwd: Path) -> Path | None:
    """The local file (``sqlite:``) or folder (``file:`` or a plain path) of the MLflow store at ``uri``, made
    absolute against ``cwd``; ``None`` for a remote store."""
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        db = Path(uri.removeprefix("sqlite:///"))
        return db if db.is_absolute() else cwd / db
    if parsed.scheme in ("", "file"):
        return Path(parsed.path) if parsed.path.startswith("/") else cwd / parsed.path
    return None


def tracking_store_problem(uri: str, cwd: Path) -> str | None:
    """Why the MLflow store at ``uri`` cannot be written (``None`` when it can, or is remote).

    Checks a SQLite database (the file and its folder, for the journal) and the local artefact root
    (``./mlruns``), or a ``file:`` store's folder.
    """
    store = tracking_store_path(uri, cwd)
    if store is None:
        return None
    paths = [store, cwd / "mlruns"] if urlparse(uri).scheme == "sqlite" else [store]
    for path in paths:
        if path.exists():
            if not os.access(path, os.R_OK | os.W_OK):
                return f"'{path}' is not writable"
            if path.is_file():
                try:
                    con = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=1)
                    try:
                        con.execute("PRAGMA schema_version").fetchone()
                    finally:
                        con.close()
                except sqlite3.Error as exc:
                    return f"'{path}' cannot be opened as a SQLite database ({exc})"
            folder = path if path.is_dir() else path.parent
        else:
            folder = path.parent
            while not folder.exists() and not folder.is_symlink():
                folder = folder.parent
        if not folder.is_dir():
            return f"'{folder}' (on the way to '{path}') is not a folder"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"folder '{folder}' (for '{path}') is not writable"
    return None


def skipped_rows(data: Any) -> list[dict[str, str]]:
    """Rows of a ``*skipped`` output (a DataFrame, a list of mappings or a mapping name → reason)."""
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        return [{str(k): str(v) for k, v in row.items()} for row in data.to_dict("records")]
    if isinstance(data, Mapping):
        return [{"input": str(k), "reason": str(v)} for k, v in data.items()]
    if isinstance(data, (list, tuple)):
        return [{str(k): str(v) for k, v in (row.items() if isinstance(row, Mapping) else {"input": row}.items())} for row in data]
    return []


def _is_figure(data: Any) -> bool:
    if isinstance(data, Mapping):
        return bool(data) and all(_is_figure(v) or callable(v) for v in data.values())
    if isinstance(data, (list, tuple)):
        return bool(data) and all(_is_figure(v) for v in data)
    return type(data).__name__ == "Figure" and type(data).__module__.startswith("matplotlib")


class RunRecordHook:
    """Honest status, configuration checked before any node, stale-run and stale-temp cleanup, the summary."""

    def __init__(self) -> None:
        self._catalog: Any = None
        self._env = "local"
        self._data_root = Path("data")
        self._strict = False
        self._pipeline = "__default__"
        self._run_id: str | None = None
        self._open = False  # a run this session opened has not been ended by this hook
        self._session_ms = 0.0
        self._skipped: list[dict[str, str]] = []
        self._saved: dict[str, Path] = {}
        self._previous_signals: dict[int, Any] = {}
        self._interrupted: int | None = None
        self._atexit = False

    # ---- before any work
    @hook_impl(tryfirst=True)
    def after_context_created(self, context: Any) -> None:
        self._end_open_run()  # a run of an earlier session in this process (a notebook) that did not end
        self._session_ms = time.time() * 1000
        self._env = context.env or "local"
        try:
            root = Path(str(context.config_loader["globals"].get("data_root", "data")))
        except Exception:  # noqa: BLE001 - no globals.yml in this configuration
            root = Path("data")
        self._data_root = root if root.is_absolute() else Path(context.project_path) / root
        for path in atomic.clean_stale(self._data_root):
            log.info("removed '%s', left by a killed run", path)
        self._check_tracking_store(context)
        params = context.params
        from kedro.framework.project import PACKAGE_NAME, pipelines

        try:
            validate_parameters(params, collect_registry(f"{PACKAGE_NAME}.pipelines"), read_sections(dict(pipelines)))
        except ParameterError as exc:
            raise RunConfigurationError(str(exc)) from exc
        self._strict = bool((params.get("project") or {}).get("strict", False))

    def _check_tracking_store(self, context: Any) -> None:
        loader = context.config_loader
        loader.config_patterns.setdefault("mlflow", ["mlflow*", "mlflow*/**", "**/mlflow*"])
        try:
            server = loader["mlflow"].get("server", {})
        except Exception:  # noqa: BLE001 - no mlflow.yml: kedro-mlflow's defaults apply
            server = {}
        uri = server.get("mlflow_tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI") or "mlruns"
        problem = tracking_store_problem(str(uri), Path.cwd())
        if problem:
            raise RunConfigurationError(
                f"MLflow tracking store '{uri}' cannot be written: {problem}. No node was run. Fix the permissions, "
                "or point server.mlflow_tracking_uri (conf/local/mlflow.yml) or MLFLOW_TRACKING_URI at a writable store."
            )

    # ---- the run
    @hook_impl(trylast=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        import mlflow

        self._catalog = catalog
        self._skipped, self._saved = [], {}
        self._pipeline = "+".join(run_params.get("pipeline_names") or ["__default__"])
        self._interrupted = None
        if threading.current_thread() is threading.main_thread():
            self._previous_signals = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        if not self._atexit:
            atexit.register(self._end_open_run)  # runs before mlflow's own (LIFO), which says FINISHED
            self._atexit = True
        run = mlflow.active_run()
        if run is None:
            return
        # A run opened before this session (a notebook's mlflow.start_run()) is the user's: kedro-mlflow logs into it
        # and leaves it open, so it is neither renamed nor ended here.
        owned = run.info.start_time >= self._session_ms - 1000
        self._run_id, self._open = run.info.run_id, owned
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        mlflow.set_tags({k: readable(v) for k, v in run_params.items() if v not in (None, "", [], {}, ())})
        if owned:
            mlflow.set_tag("mlflow.runName", f"{self._pipeline} [{self._env}] {stamp}")
        mlflow.set_tags({
            "pipeline": self._pipeline,
            "env": self._env,
            "data_root": str(self._data_root),
            "host": socket.gethostname(),
            "pid": str(os.getpid()),
        })
        client = mlflow.MlflowClient()
        client.set_experiment_tag(run.info.experiment_id, "mlflow.experimentKind", "custom_model_development")
        self._close_stale_runs(client, run.info.experiment_id)

    def _close_stale_runs(self, client: Any, experiment_id: str) -> None:
        running = client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000)
        host = socket.gethostname()
        dead = {
            r.info.run_id
            for r in running
            if r.data.tags.get("host") == host and r.data.tags.get("pid", "").isdigit()
            and not psutil.pid_exists(int(r.data.tags["pid"])) and r.info.run_id != self._run_id
        }
        dead |= {r.info.run_id for r in running if r.data.tags.get("mlflow.parentRunId") in dead}
        for run_id in sorted(dead):
            client.set_tag(run_id, "status_note", f"process gone; marked KILLED by run {self._run_id}")
            client.set_terminated(run_id, "KILLED")
            log.info("MLflow run %s was left RUNNING by a process that no longer exists: marked KILLED", run_id)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._interrupted = signum
        raise RunInterrupted(f"signal {signal.Signals(signum).name}")

    def _raise_if_interrupted(self) -> None:
        """Raise again an interrupt that arrived where Python discards exceptions (it was remembered)."""
        if self._interrupted is not None:
            raise RunInterrupted(f"signal {signal.Signals(self._interrupted).name} (received during the last node)")

    def _restore_signals(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig, previous in self._previous_signals.items():
                signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous_signals = {}

    def _end_open_run(self, status: str = "KILLED") -> None:
        """End the run this hook saw start (and any nested run still open) with ``status`` if it is still RUNNING:
        FINISHED or FAILED from the pipeline hooks, KILLED at exit or in the next session of this process (the
        pipeline never reached them: Ctrl-C, SIGTERM).

        Each run is taken off mlflow's stack before its status is written, so mlflow's exit handler cannot later
        record FINISHED. While the store cannot be written (locked, read-only) the write is retried for
        ``DHS_MLFLOW_STORE_RETRY_S`` seconds; then an error names the store's path and the run stays RUNNING.
        """
        if not self._open:
            return
        self._open = False
        import mlflow
        from mlflow.exceptions import MlflowException

        pending = [self._run_id]
        while (active := mlflow.active_run()) is not None:
            pending.append(active.info.run_id)
            with contextlib.suppress(Exception):  # off the stack even when the store refuses the write
                mlflow.end_run(status)
        client = mlflow.MlflowClient()
        deadline = time.monotonic() + float(os.environ.get("DHS_MLFLOW_STORE_RETRY_S", "30"))
        while True:
            try:
                ended = [r for r in dict.fromkeys(pending) if client.get_run(r).info.status == "RUNNING"]
                for run_id in ended:
                    client.set_terminated(run_id, status)
            except MlflowException as exc:
                if exc.error_code == "RESOURCE_DOES_NOT_EXIST":  # another store now (a later session): not ours
                    return
                failure: Exception = exc
            except Exception as exc:  # noqa: BLE001 - sqlite3/SQLAlchemy errors, OSError from the store
                failure = exc
            else:
                if ended:
                    log.info("MLflow run %s ended %s", self._run_id, status)
                return
            store = tracking_store_path(mlflow.get_tracking_uri(), Path.cwd()) or mlflow.get_tracking_uri()
            reason = str(failure).splitlines()[0][:300]
            if time.monotonic() >= deadline:
                log.error("MLflow run %s could not be recorded %s: the tracking store '%s' cannot be written (%s). "
                          "No status was written (never FINISHED): the run stays RUNNING until the next run "
                          "marks it KILLED.", self._run_id, status, store, reason)
                return
            log.warning("MLflow tracking store '%s' cannot be written (%s); retrying to record run %s as %s",
                        store, reason, self._run_id, status)
            time.sleep(1.0)

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        self._raise_if_interrupted()

    @hook_impl
    def after_node_run(self, node: Any, outputs: dict[str, Any]) -> None:
        self._raise_if_interrupted()
        for name, data in outputs.items():
            if not name.rsplit(".", 1)[-1].endswith("skipped"):
                continue
            rows = [{"output": name, **row} for row in skipped_rows(data)]
            self._skipped += rows
            if rows and self._strict:
                raise RunConfigurationError(
                    f"node '{node.name}' skipped {len(rows)} input(s) and project.strict is true: "
                    + "; ".join(_describe_skip(r) for r in rows[:20])
                )

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        dataset = self._catalog.get(dataset_name) if self._catalog is not None else None
        path = dataset_path(dataset) if dataset is not None else None
        if path is None:
            return
        self._saved[dataset_name] = path
        if self._open and _is_figure(data) and not hasattr(dataset, "artifact_path"):
            import mlflow

            folder = self._artifact_folder(path)
            if path.is_dir():
                mlflow.log_artifacts(str(path), artifact_path=f"{folder}/{path.name}" if folder else path.name)
            else:
                mlflow.log_artifact(str(path), artifact_path=folder or None)

    def _below_root(self, path: Path) -> tuple[str, ...] | None:
        """``path``'s parts below the data root (``None`` outside it)."""
        try:
            return path.resolve().relative_to(self._data_root.resolve()).parts
        except ValueError:
            return None

    def _artifact_folder(self, path: Path) -> str:
        """``<data_root>/08_reporting/glens/x.png`` → ``glens``: the folder under the layer."""
        parts = self._below_root(path)
        return "/".join(parts[1:-1]) if parts else ""

    @hook_impl(tryfirst=True)
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._restore_signals()
        lines = self._summary()
        if self._open:
            import mlflow

            try:
                mlflow.set_tag("skipped_inputs", str(len(self._skipped)))
                mlflow.log_text("\n".join(lines) + "\n", "run_summary.txt")
                if self._skipped:
                    mlflow.log_text(json.dumps(self._skipped, indent=1), "skipped_inputs.json")
            except Exception:
                self._end_open_run("FAILED")  # the store failed: FAILED (never FINISHED), or an error naming it
                raise
        # ended here, not by kedro-mlflow's hook after this one (whose failing write would leave it to mlflow's exit
        # handler): FINISHED, or an error naming the store if that cannot be written
        self._end_open_run("FINISHED")
        print("\n".join(lines), flush=True)  # printed, not logged: shown whatever the logging configuration

    @hook_impl(wrapper=True)
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> Any:
        """Wrap kedro-mlflow's hook, which ends the run FAILED; when it cannot (the store is locked or unwritable:
        it raises), end the run here, retrying. kedro-mlflow's hook must find the run still active: ended before
        it, it fails with ``UnboundLocalError: pipeline_run_id_is_closed`` (kedro-mlflow 2.0.3), which hid the
        pipeline's real error as the last traceback of every failed run."""
        self._restore_signals()
        try:
            return (yield)
        finally:
            self._end_open_run("FAILED")

    def _layer_folder(self, folder: Path) -> Path:
        """``<data root>/<layer>/<pipeline>`` of a folder below the data root (deeper folders: variants, partitions)."""
        parts = self._below_root(folder)
        return folder if parts is None else self._data_root.joinpath(*parts[:2])

    def _summary(self) -> list[str]:
        root = self._data_root
        kinds: dict[str, set[str]] = {"tables": set(), "figures": set(), "other outputs": set()}
        indexes = sorted(_relative(path) for name, path in self._saved.items() if name.endswith(".results_index"))
        for path in self._saved.values():
            suffixes = {path.suffix} if path.is_file() else {p.suffix for p in path.rglob("*") if p.is_file()}
            kind = "figures" if suffixes & FIGURE_SUFFIXES else "tables" if suffixes & TABLE_SUFFIXES else "other outputs"
            kinds[kind].add(_relative(self._layer_folder(path if path.is_dir() else path.parent)))
        lines = [f"Run summary: pipeline '{self._pipeline}', environment '{self._env}', data root '{_relative(root)}'"]
        if indexes:
            lines.append("  results indexes (every final output, one line each): " + ", ".join(indexes))
        for kind, folders in kinds.items():
            if folders:
                lines.append(f"  {kind}: " + ", ".join(sorted(folders)))
        if self._run_id:
            import mlflow

            lines.append(f"  MLflow run {self._run_id} in {mlflow.get_tracking_uri()} "
                         f"(browse: uv run kedro mlflow ui, or uv run mlflow ui --backend-store-uri "
                         f"{mlflow.get_tracking_uri()})")
        if self._skipped:
            lines.append(f"  {len(self._skipped)} input(s) skipped (set project.strict: true to make this an error):")
            lines += [f"    - {_describe_skip(r)}" for r in self._skipped]
        else:
            lines.append("  no input was skipped")
        return lines


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _describe_skip(row: Mapping[str, str]) -> str:
    what = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("output", "reason") and v not in ("", "nan", "None"))
    return f"{row.get('output', '?')}: {what or '?'} — {row.get('reason', 'no reason recorded')}"


class ProvenanceHook:
    """Adds git state and input-data digests (MLflow dataset API and params) to the active MLflow run."""

    def __init__(self) -> None:
        self._catalog: Any = None
        self._to_hash: set[str] = set()
        self._hashed: set[str] = set()

    @hook_impl(trylast=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        import mlflow

        self._catalog = catalog
        self._hashed.clear()
        raw_layer = set()
        for name in pipeline.datasets():
            try:
                metadata = getattr(catalog.get(name), "metadata", None) or {}
            except Exception:  # noqa: BLE001 - factory patterns without a match are not inputs
                continue
            if (metadata.get("kedro-viz") or {}).get("layer") == "raw":
                raw_layer.add(name)
        self._to_hash = {n for n in pipeline.inputs() if not n.startswith("params:") and n != "parameters"} | raw_layer
        if mlflow.active_run() is None:
            return
        commit, dirty = git_state(Path(run_params.get("project_path") or Path.cwd()))
        mlflow.set_tags({"git_commit": commit, "git_dirty": str(dirty).lower()})

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any, node: Any) -> None:
        import mlflow

        if dataset_name not in self._to_hash or dataset_name in self._hashed or mlflow.active_run() is None:
            return
        self._hashed.add(dataset_name)
        path = dataset_path(self._catalog.get(dataset_name))
        if path is None:
            return
        from .datasets.reader import content_sha256  # lazily: the datasets import astropy, settings must stay light

        digest = content_sha256(path)
        mlflow.log_param(f"input_sha256.{dataset_name}", digest)
        mlflow.log_input(_mlflow_dataset(dataset_name, path, digest), context="input")


def _mlflow_dataset(name: str, path: Path, digest: str) -> Any:
    """An MLflow ``Dataset`` for a local file or folder: its name, ``file://`` source and SHA-256 digest."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    with warnings.catch_warnings():  # "file" and "" both map to LocalArtifactDatasetSource: MLflow warns, harmlessly
        warnings.simplefilter("ignore", UserWarning)
        source = resolve_dataset_source(path.resolve().as_uri())
    return MetaDataset(source=source, name=name, digest=digest[:36])
