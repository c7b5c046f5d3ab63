"""kedro-viz: the static lineage site builds, and opened in headless Chromium shows one box per pipeline.

Every node of the project sits in a namespace named after its pipeline, so kedro-viz collapses each pipeline
into one box: a view holds the boxes and the datasets at their boundaries (kedro-viz puts a modular pipeline's
free inputs and outputs outside its box), never a node. A box's final outputs are read by its results index
(``<namespace>.results_index``, :mod:`dark_halo_scope.pipelines.results_index`), so outside it kedro-viz draws that
page and what other boxes read, not every table and figure. The browser test saves a screenshot of the default
view under pytest's ``tmp_path`` and, when ``DHS_VIZ_SCREENSHOT=<file.png>`` is set, there too.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from kedro.pipeline import Pipeline

from dark_halo_scope.pipeline_registry import register_pipelines

from .conftest import Project

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: a node drawn on the flowchart (not a row of the sidebar list): ``<g class="pipeline-node …" data-node-type=…>``
DRAWN = re.compile(r'<g [^>]*class="pipeline-node pipeline-node--[^"]*"[^>]*data-node-type="(\w+)"'
                   r'[^>]*data-node-fullname="([^"]*)"')  # fmt: skip
#: the most boundary datasets the default view may draw per top-level box (88 for 7 boxes before the results indexes)
BOUNDARY_PER_BOX = 4
#: kedro-viz 12.5 reads its settings from ``localStorage["KedroViz"]``; ``showFeatureHints: false`` is what closing
#: its tour ("Workflow run status, 1 of 6") stores
TOUR_CLOSED = '<script>localStorage.setItem("KedroViz", JSON.stringify({showFeatureHints: false}));</script>'


def top_namespaces(pipeline: Pipeline) -> set[str]:
    return {n.namespace.split(".")[0] for n in pipeline.nodes if n.namespace}


def boundary_datasets(pipeline: Pipeline) -> set[str]:
    """Datasets kedro-viz draws outside the top-level boxes: each box's free inputs and outputs (no parameters)."""
    out: set[str] = set()
    for ns in top_namespaces(pipeline):
        inside = pipeline.only_nodes_with_namespaces([ns])
        rest = pipeline - inside
        out |= inside.inputs() | inside.outputs() | (rest.inputs() & inside.all_outputs())
    return {d for d in out if not d.startswith("params:") and d != "parameters"}


@pytest.fixture(scope="module")
def viz_site(project: Project) -> Iterator[str]:
    """``kedro viz build`` in the project copy, served on a loopback port, as a returning user who closed the tour.

    The served copy's ``index.html`` stores kedro-viz's "tour closed" setting (:data:`TOUR_CLOSED`) before the
    app's script runs, so a fresh browser profile opens on the graph rather than under the feature-hints popup.
    """
    project.kedro("viz", "build")
    build = project.path / "build"
    assert (build / "index.html").is_file() and (build / "api" / "main").is_file()
    index = build / "index.html"
    page, count = re.subn(r'(\s*<script type="module")', TOUR_CLOSED + r"\1", index.read_text(), count=1)
    assert count == 1, "kedro-viz's index.html has no module script to precede"
    index.write_text(page)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(build))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        shutil.rmtree(build, ignore_errors=True)


def rendered_dom(url: str, screenshot: Path | None = None) -> str:
    """The page's DOM after 20 s of virtual time in a 1600×1000 window (and its screenshot, if asked for)."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: scripts/test.sh installs Debian's chromium package")
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    shot = [f"--screenshot={screenshot}"] if screenshot else []
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--window-size=1600,1000",
                *shot, "--dump-dom", url,
            ],
            capture_output=True, text=True, timeout=120, cwd=profile,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_api_lists_every_pipeline(viz_site: str, project: Project) -> None:
    main = json.loads((project.path / "build" / "api" / "main").read_text())
    assert {p["id"] for p in main["pipelines"]} == set(register_pipelines())


@pytest.mark.parametrize("name", sorted(register_pipelines()))
def test_each_pipeline_opens_on_its_boxes(viz_site: str, project: Project, name: str) -> None:
    """Every node is in a top-level box; the view holds the boxes and their boundary datasets only."""
    pipeline = register_pipelines()[name]
    unboxed = sorted(n.name for n in pipeline.nodes if not n.namespace)
    assert not unboxed, f"nodes of '{name}' outside any namespace (kedro-viz draws them loose): {unboxed}"
    api = json.loads((project.path / "build" / "api" / "pipelines" / name).read_text())
    names = {n["id"]: n["name"] for n in api["nodes"]}
    root = api["modular_pipelines"]["__root__"]["children"]
    assert {c["id"] for c in root if c["type"] == "modularPipeline"} == top_namespaces(pipeline)
    assert not [c for c in root if c["type"] == "task"]
    assert {names[c["id"]] for c in root if c["type"] == "data"} == boundary_datasets(pipeline)
    assert {n["full_name"] for n in api["nodes"] if n["type"] == "task"} == {n.name for n in pipeline.nodes}


def test_default_view_draws_one_results_index_per_box_and_few_datasets(viz_site: str, project: Project) -> None:
    """Each top-level box's one final output is its results index, drawn outside it; beside the indexes the view
    holds only the pipelines' inputs and what one box reads from another."""
    pipeline = register_pipelines()["__default__"]
    boxes = top_namespaces(pipeline)
    api = json.loads((project.path / "build" / "api" / "pipelines" / "__default__").read_text())
    names = {n["id"]: n["name"] for n in api["nodes"]}
    drawn = {names[c["id"]] for c in api["modular_pipelines"]["__root__"]["children"] if c["type"] == "data"}
    for ns in boxes:
        assert pipeline.only_nodes_with_namespaces([ns]).outputs() == {f"{ns}.results_index"}, ns
    assert {d for d in drawn if d.endswith(".results_index")} == {f"{ns}.results_index" for ns in boxes}
    assert len(drawn) <= BOUNDARY_PER_BOX * len(boxes), sorted(drawn)


@pytest.mark.browser
def test_default_view_shows_the_pipeline_boxes(viz_site: str, tmp_path: Path) -> None:
    """The page a user opens on: exactly the top-level boxes and their boundary datasets; a screenshot to judge."""
    pipeline = register_pipelines()["__default__"]
    screenshot = tmp_path / "kedro_viz_default.png"
    dom = rendered_dom(viz_site, screenshot=screenshot)
    assert screenshot.stat().st_size > 10_000, "the screenshot is empty"
    if target := os.environ.get("DHS_VIZ_SCREENSHOT"):
        shutil.copyfile(screenshot, target)
    drawn: dict[str, set[str]] = {}
    for kind, fullname in DRAWN.findall(dom):
        drawn.setdefault(kind, set()).add(fullname)
    assert drawn.get("modularPipeline") == top_namespaces(pipeline), drawn.get("modularPipeline")
    assert "task" not in drawn, f"loose nodes drawn: {sorted(drawn['task'])[:10]}"
    assert drawn.get("data", set()) == boundary_datasets(pipeline)
    assert sum(map(len, drawn.values())) < 150, "the fitted default view is hundreds of nodes"
