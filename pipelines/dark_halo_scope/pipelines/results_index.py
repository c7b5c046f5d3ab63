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
    mapping (metrics, JSON): ``key = value``; text: its first line; a figure: its pixel size; a path (a folder
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
        return next((line.strip() for line in data.splitlines() if line.strip()), "empty text")
    if isinstance(data, Path):
        return f"path {data.as_posix()}"
    if isinstance(data, (list, tuple)):
        return f"{len(data)} items"
    return type(data).__name__


def index_page(namespace: str, outputs: Mapping[str, Any]) -> str:
    """The Markdown index of ``namespace``: every output by catalog name with :func:`describe`'s line."""
    lines = [f"# {namespace}: results", "",
             f"Every final output of the `{namespace}` pipeline (catalog name: what it holds).", ""]  # fmt: skip
    lines += [f"- `{name}`: {describe(data)}" for name, data in sorted(outputs.items())]
    return "\n".join(lines) + "\n"


def final_outputs(pipeline: Pipeline, namespace: str) -> list[str]:
    """The outputs of ``namespace``'s nodes (and its nested namespaces') that no node of ``pipeline`` reads."""
    return sorted(pipeline.outputs() & pipeline.only_nodes_with_namespaces([namespace]).all_outputs())


def _page_writer(namespace: str, names: list[str]) -> Callable[..., str]:
    """The index node's function: the loaded outputs, in the order of ``names``, → :func:`index_page`."""
    def results_index(*outputs: Any) -> str:
        return index_page(namespace, dict(zip(names, outputs, strict=True)))

    results_index.__doc__ = f"The results index of `{namespace}` (:func:`index_page`)."
    return results_index


def with_results_index(pipeline: Pipeline, namespace: str) -> Pipeline:
    """``pipeline`` and the node ``<namespace>.results_index`` reading every final output of ``namespace``."""
    names = final_outputs(pipeline, namespace)
    index = node(_page_writer(namespace, names), names, f"{namespace}.{INDEX}", name=INDEX, namespace=namespace)
    return pipeline + Pipeline([index])
