"""kedro-viz: the static lineage site builds and, opened in headless Chromium, shows the pipelines."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator

import pytest

from dark_halo_scope.pipeline_registry import register_pipelines

from .conftest import Project

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def viz_site(project: Project) -> Iterator[str]:
    """``kedro viz build`` in the project copy, served on a loopback port."""
    project.kedro("viz", "build")
    build = project.path / "build"
    assert (build / "index.html").is_file() and (build / "api" / "main").is_file()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(build))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        shutil.rmtree(build, ignore_errors=True)


def rendered_dom(url: str) -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: scripts/test.sh installs Debian's chromium package")
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--window-size=1600,1000",
                "--dump-dom", url,
            ],
            capture_output=True, text=True, timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_api_lists_every_pipeline(viz_site: str, project: Project) -> None:
    import json

    main = json.loads((project.path / "build" / "api" / "main").read_text())
    assert {p["id"] for p in main["pipelines"]} == set(register_pipelines())


@pytest.mark.browser
@pytest.mark.parametrize("name", sorted(set(register_pipelines()) - {"__default__"}))
def test_pipeline_lineage_is_on_the_page(viz_site: str, name: str) -> None:
    pipeline = register_pipelines()[name]
    dom = rendered_dom(f"{viz_site}?pid={name}")
    assert "kedro" in dom.lower()
    namespaces = {n.namespace.split(".")[0] for n in pipeline.nodes if n.namespace}
    for n in pipeline.nodes:
        # a namespaced node sits inside its collapsed modular pipeline, shown by its top-level name
        shown = n.namespace.split(".")[0] if n.namespace else n.name
        assert f">{shown}<" in dom, f"node '{n.name}' of '{name}' not rendered (looked for '{shown}')"
    for dataset in pipeline.datasets():
        if dataset.startswith("params:"):
            continue
        top = dataset.split(".")[0]
        inside = top in namespaces and f">{top}<" in dom  # internal to a collapsed modular pipeline
        assert inside or f">{dataset}<" in dom, f"dataset '{dataset}' of '{name}' not rendered"
