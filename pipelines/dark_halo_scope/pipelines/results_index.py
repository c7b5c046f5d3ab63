"""Each pipeline namespace's results index: one Markdown page naming every final output, one line each.

kedro-viz draws every output of a top-level box that nothing reads outside the box, so a pipeline with 34 final
tables and figures filled the default view with datasets. :func:`with_results_index` ends a namespace with one node,
``<namespace>.results_index``, that reads those outputs (computed from the pipeline, never listed by hand) and
writes ``<namespace>.results_index`` (``data/08_reporting/<namespace>/index.md``, an MLflow artefact): kedro-viz
then draws that one page outside the box. Outputs another namespace reads are not final and stay as they are.
:func:`describe` says what a loaded object holds from the object alone; a partitioned folder's loaders are never
called.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kedro.pipeline import Pipeline, node
from PIL.Image import Image

#: the last part of the index node's name and of its dataset's name
INDEX = "results_index"
#: how many names (columns, keys, partitions) one line shows before "… (+n more)"
SHOWN = 12
#: characters of a text's first line shown
LINE = 120


def _listing(items: Iterable[str], limit: int = SHOWN) -> str:
    """``a, b, c`` with at most ``limit`` items, then how many more there are."""
    items = list(items)
    more = f", … (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _scalars(tree: Mapping[str, Any], prefix: str = "") -> Iterable[str]:
    """``key = value`` for every leaf of a nested mapping, nested keys joined by dots, floats to 4 digits."""
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from _scalars(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key} = {value:.4g}" if isinstance(value, float) else f"{prefix}{key} = {value}"


def describe(data: Any) -> str:
    """One line on what a loaded dataset holds, computed from the object alone.

    A table: rows × columns and the column names; a partitioned folder (a mapping of loaders, not called): the number
    of partitions and the first keys; a mapping of arrays (``.npz``): each array's name, shape and type; any other
    mapping (metrics, JSON): ``key = value``; an HTML page: its title and size; other text: its first line (at
    most :data:`LINE` characters); a figure: its pixel size; a path (a folder
    dataset): the path.
    """
    if isinstance(data, pd.DataFrame):
        columns = _listing(map(str, data.columns))
        return f"table, {len(data)} rows × {data.shape[1]} columns: {columns}"
    if isinstance(data, Image):
        return f"{data.format or 'image'} figure, {data.width} × {data.height} px"
    if isinstance(data, Mapping):
        if data and all(callable(v) for v in data.values()):
            return f"{len(data)} partition{'s' * (len(data) != 1)}: {_listing(sorted(map(str, data)), 3)}"
        if data and all(isinstance(v, np.ndarray) for v in data.values()):
            return "arrays: " + _listing(f"{k} {tuple(v.shape)} {v.dtype}" for k, v in data.items())
        return _listing(_scalars(data)) or "empty mapping"
    if isinstance(data, str):
        if data.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
            title = re.search(r"<title>(.*?)</title>", data, re.IGNORECASE | re.DOTALL)
            named = f" \"{' '.join(title.group(1).split())[:LINE]}\"" if title else ""
            return f"HTML document{named}, {len(data.encode()) / 1e3:.0f} kB"
        line = next((line.strip() for line in data.splitlines() if line.strip()), "empty text")
        return line if len(line) <= LINE else line[:LINE] + " …"
    if isinstance(data, Path):
        return f"path {data.as_posix()}"
    if isinstance(data, (list, tuple)):
        return f"{len(data)} items"
    return type(data).__name__


def index_page(namespace: str, outputs: Mapping[str, Any], others: Iterable[str] = ()) -> str:
    """The Markdown index of ``namespace``: every final output (one no node reads) by catalog name with
    :func:`describe`'s line, then the names of its ``others`` (outputs later nodes read; not loaded here)."""
    lines = [f"# {namespace}: results", "",
             f"Every final output of the `{namespace}` pipeline, i.e. one that no node reads (catalog name: what it "
             "holds):", ""]  # fmt: skip
    lines += [f"- `{name}`: {describe(data)}" for name, data in sorted(outputs.items())]
    if others := sorted(others):
        lines += ["", f"Also written by `{namespace}` and read by later nodes (not loaded here):", "",
                  ", ".join(f"`{name}`" for name in others)]  # fmt: skip
    lines += ["", "Each dataset's file is its entry in `conf/base/catalog_*.yml` (factory patterns resolved by "
              "`uv run kedro catalog resolve-patterns`)."]
    return "\n".join(lines) + "\n"


def final_outputs(pipeline: Pipeline, namespace: str) -> list[str]:
    """The outputs of ``namespace``'s nodes (and its nested namespaces') that no node of ``pipeline`` reads."""
    return sorted(pipeline.outputs() & pipeline.only_nodes_with_namespaces([namespace]).all_outputs())


def other_outputs(pipeline: Pipeline, namespace: str) -> list[str]:
    """The outputs of ``namespace``'s nodes that a node of ``pipeline`` reads (intermediate results)."""
    return sorted(pipeline.only_nodes_with_namespaces([namespace]).all_outputs() - pipeline.outputs())


def _page_writer(namespace: str, names: list[str], others: list[str]) -> Callable[..., str]:
    """The index node's function: the loaded outputs, in the order of ``names``, → :func:`index_page`."""
    def results_index(*outputs: Any) -> str:
        return index_page(namespace, dict(zip(names, outputs, strict=True)), others)

    results_index.__doc__ = f"The results index of `{namespace}` (:func:`index_page`)."
    return results_index


def with_results_index(pipeline: Pipeline, namespace: str) -> Pipeline:
    """``pipeline`` and the node ``<namespace>.results_index`` reading every final output of ``namespace``."""
    names = final_outputs(pipeline, namespace)
    writer = _page_writer(namespace, names, other_outputs(pipeline, namespace))
    index = node(writer, names, f"{namespace}.{INDEX}", name=INDEX, namespace=namespace)
    return pipeline + Pipeline([index])
