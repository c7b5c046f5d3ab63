"""What every ablation study shares: the namespaced variant layout, run identifiers, the common table format.

Layout (``../shared/specs/stack.md`` §3.2–§3.3): a study ``<s>`` is one variant template instantiated once per
variant ``<v>`` as the modular pipeline ``ablation_studies.<s>.<v>``; the template reads ``params:overrides``
(→ ``params:ablation_studies.<s>.<v>.overrides``), the study's shared settings ``params:ablation_studies.<s>.study``
and writes ``metrics`` (→ catalog factory ``ablation_studies.{study}.{variant}.metrics``, a
``TrackedMetricsDataset`` with ``run_name``: one nested MLflow run per variant). One node per study, in the
namespace ``ablation_studies.<s>``, joins the variants into the study table (CSV, Markdown, figure).

Variants come from configuration (:func:`variant_names`): every key of a study's parameter section other than
``study`` is a variant. Kedro fixes namespaces when the pipelines are registered, so the parameters are read then,
from the project's conf source, as the run will see them: ``base`` merged with the run environment — the
``--env`` of the running ``kedro`` command, else ``$KEDRO_ENV``, else the project's default run environment
(``local``). A variant added in ``conf/full`` therefore exists in ``kedro run --env full`` only; ``--params`` can
change a variant's settings but cannot add one (runtime parameters are read after registration).

The common table format (:func:`format_table`), which every study's table follows, the rs-ilg kernel study
included: ``study, variant, [key columns], [info columns], run_id, <metric> [, <metric> (seed)] …,
verdict [, verdict (seed)], seed_document``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.pipeline import Pipeline, node, pipeline

ROOT = "ablation_studies"
#: Keys of a study's parameter section that are not variants.
NOT_VARIANTS = frozenset({"study"})


def _run_environment() -> tuple[str, str]:
    """``(conf source, environment)`` of the run being set up (see the module docstring for the rule)."""
    import click
    from kedro.framework.project import settings
    from kedro.utils import find_kedro_project

    from dark_halo_scope.settings import CONFIG_LOADER_ARGS

    cli = click.get_current_context(silent=True)
    options = cli.params if cli is not None else {}
    env = options.get("env") or os.environ.get("KEDRO_ENV") or CONFIG_LOADER_ARGS["default_run_env"]
    project = find_kedro_project(Path.cwd()) or Path.cwd()
    return str(options.get("conf_source") or project / settings.CONF_SOURCE), env


@functools.cache
def _parameters(conf_source: str, env: str) -> dict[str, Any]:
    from kedro.config import OmegaConfigLoader

    from dark_halo_scope.settings import CONFIG_LOADER_ARGS

    return OmegaConfigLoader(conf_source, **{**CONFIG_LOADER_ARGS, "env": env})["parameters"]


def variant_names(*section: str) -> tuple[str, ...]:
    """The variants configured under the parameter ``section`` (e.g. ``("ablation_studies", "mitigation")``).

    Every key of the section other than ``study`` (:data:`NOT_VARIANTS`), in the order of the YAML files
    (``base`` first, then keys the run environment adds). Read once per (conf source, environment).

    Raises
    ------
    ValueError
        When the section is missing or not a mapping, naming the conf source, the environment and the key.
    """
    conf_source, env = _run_environment()
    value: Any = _parameters(conf_source, env)
    for part in section:
        value = value.get(part) if isinstance(value, Mapping) else None
    key = ".".join(section)
    if not isinstance(value, Mapping):
        raise ValueError(f"parameters '{key}' are missing or not a mapping in {conf_source} (base + {env}): "
                         "the ablation variants are read from there")
    return tuple(str(k) for k in value if k not in NOT_VARIANTS)


def deep_update(base: Mapping[str, Any], *updates: Mapping[str, Any] | None) -> dict[str, Any]:
    """``base`` updated by each of ``updates`` in turn, mappings merged key by key (a copy; inputs untouched)."""
    out = dict(base)
    for update in updates:
        for key, value in (update or {}).items():
            if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
                out[key] = deep_update(out[key], value)
            else:
                out[key] = value
    return out


def run_id(study: str, variant: str, size: str, settings: Mapping[str, Any]) -> str:
    """``<study>.<variant>.<size>.<8 hex digits of SHA-1 over the effective settings>``.

    Unique per variant and size, and two runs whose settings differ in anything (e.g. a ``--params`` override)
    never share an identifier.
    """
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{study}.{variant}.{size}.{digest}"


def variant_payload(metrics: Mapping[str, float], settings: Mapping[str, Any], size: str) -> dict[str, Any]:
    """What a variant's ``metrics`` dataset stores and logs: its metrics, and its settings and size as params."""
    return {"metrics": dict(metrics), "params": {"size": size, **settings}}


def study_pipeline(study: str, template: Pipeline, *, inputs: set[str], parameters: Mapping[str, str],
                   table: Callable[..., Any], outputs: Sequence[str]) -> Pipeline:
    """``template`` once per configured variant (namespace ``ablation_studies.<study>.<variant>``, variants from
    :func:`variant_names`), then the table node.

    Parameters
    ----------
    inputs : set of str
        Free datasets of ``template`` shared by every variant (kept unprefixed, e.g. ``dhs_inject.stamp_store``).
    parameters : mapping
        Template parameter name → shared parameter (e.g. ``{"params:study": "params:ablation_studies.x.study"}``);
        ``params:overrides`` stays per variant.
    table : callable
        ``table(**{variant: metrics payload}) -> outputs`` of the study (the table, its Markdown, its figure).
    outputs : sequence of str
        Output suffixes of the table node, e.g. ``("table", "markdown", "figure")`` →
        ``ablation_studies.<study>.table`` ….
    """
    ns = f"{ROOT}.{study}"
    variants = variant_names(ROOT, study)
    variants_pipe = sum(
        (pipeline(template, namespace=f"{ns}.{v}", inputs=inputs, parameters=dict(parameters)) for v in variants),
        start=Pipeline([]),
    )
    joined = node(table, {v: f"{ns}.{v}.metrics" for v in variants}, [f"{ns}.{o}" for o in outputs],
                  name="table", namespace=ns)
    return variants_pipe + Pipeline([joined])


def format_table(study: str, rows: Iterable[Mapping[str, Any]], *, keys: Sequence[str] = (),
                 info: Sequence[str] = (), metrics: Sequence[str],
                 seed: Mapping[tuple, Mapping[str, str]] | None = None, seed_document: str = "") -> pd.DataFrame:
    """The common ablation table: one row per (variant, keys), our metrics with the seed's figures beside them.

    Parameters
    ----------
    study : str
        The study's name (first column).
    rows : iterable of mappings
        Each with ``variant``, the ``keys`` columns, ``run_id``, every name in ``metrics`` and ``verdict``.
    keys : sequence of str
        Extra key columns after ``variant`` (e.g. ``channel`` when a variant has several rows).
    info : sequence of str
        Descriptive columns after the keys (settings, sample sizes), not part of a row's identity.
    metrics : sequence of str
        Our metric columns, in order.
    seed : mapping, optional
        ``(variant, *keys) → {metric or "verdict": the seed's figure, as written in the seed}``; a
        ``<metric> (seed)`` column is added after each metric (and ``verdict (seed)`` after ``verdict``) the seed
        reports for any row (text, blank where the seed has none).
    seed_document : str
        The seed file the figures were copied from (last column, on every row that has a seed figure).

    Returns
    -------
    DataFrame
        Columns ``study, variant, *keys, *info, run_id, <metric> [, <metric> (seed)] …, verdict [, verdict (seed)],
        seed_document``.
    """
    seed = dict(seed or {})
    frame = pd.DataFrame(list(rows))
    missing = [c for c in ("variant", *keys, *info, "run_id", *metrics, "verdict") if c not in frame]
    if missing:
        raise ValueError(f"ablation table of study '{study}': rows lack column(s) {missing}")
    ids = [tuple(r) for r in frame[["variant", *keys]].itertuples(index=False)]
    columns = ["study", "variant", *keys, *info, "run_id"]
    frame.insert(0, "study", study)
    for metric in metrics:
        columns.append(metric)
        if any(metric in seed.get(i, {}) for i in ids):
            frame[f"{metric} (seed)"] = [seed.get(i, {}).get(metric, "") for i in ids]
            columns.append(f"{metric} (seed)")
    columns.append("verdict")
    if any("verdict" in seed.get(i, {}) for i in ids):
        frame["verdict (seed)"] = [seed.get(i, {}).get("verdict", "") for i in ids]
        columns.append("verdict (seed)")
    frame["seed_document"] = [seed_document if seed.get(i) else "" for i in ids]
    return frame[[*columns, "seed_document"]]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value).replace("|", "\\|")


def to_markdown(table: pd.DataFrame, title: str, notes: str = "") -> str:
    """A GitHub-flavoured Markdown rendering of a study table: ``## title``, the pipe table, then ``notes``."""
    head = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([f"## {title}", "", head, rule, *body, "", notes.strip(), ""]).rstrip() + "\n"


def bar_figure(table: pd.DataFrame, metrics: Sequence[str], *, label: Sequence[str] = ("variant",),
               title: str = "", hline: float | None = None):
    """Grouped bars of ``metrics`` per row (labelled by the ``label`` columns); ``hline`` marks a threshold."""
    import matplotlib.pyplot as plt
    import numpy as np

    names = [" ".join(str(v) for v in r) for r in table[list(label)].itertuples(index=False)]
    x = np.arange(len(names))
    width = 0.8 / max(len(metrics), 1)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(names) + 1.5), 3.2))
    for i, metric in enumerate(metrics):
        ax.bar(x + (i - (len(metrics) - 1) / 2) * width, table[metric].astype(float), width, label=metric)
    if hline is not None:
        ax.axhline(hline, color="k", lw=0.8, ls="--")
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


__all__ = ["NOT_VARIANTS", "ROOT", "bar_figure", "deep_update", "format_table", "run_id", "study_pipeline",
           "to_markdown", "variant_names", "variant_payload"]
