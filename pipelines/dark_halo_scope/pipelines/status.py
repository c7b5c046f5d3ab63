"""A one-node pipeline for a library whose pipeline has not landed yet.

It reports what is installed instead of pretending to compute: the package, its version and
``"implemented": false``, as a JSON report under ``08_reporting``. Each pipeline replaces it when
its issue lands.
"""

from __future__ import annotations

from functools import partial
from importlib.metadata import version
from typing import Any

from kedro.pipeline import Pipeline, node


def package_status(package: str) -> dict[str, Any]:
    """Describe the installed distribution ``package`` for a pipeline that has no nodes of its own yet."""
    return {"package": package, "version": version(package), "implemented": False}


def status_pipeline(name: str, package: str) -> Pipeline:
    """``name``'s placeholder: one node writing ``<name>.status`` (catalogued as JSON)."""
    return Pipeline(
        [node(partial(package_status, package), inputs=None, outputs=f"{name}.status", name=f"{name}_status")]
    )
