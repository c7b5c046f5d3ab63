"""The gate report: one JSON document per run and a self-contained HTML page with embedded PNG figures."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

from typing import TYPE_CHECKING

from .result import GateResult

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["gate_report", "report_html", "summary_table"]


def gate_report(results: Sequence[GateResult], *, run: dict[str, Any] | None = None,
                studies: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run's JSON report: ``{"run": …, "summary": {passed, failed, not run}, "gates": [...], "studies": …}``."""
    gates = [r.model_dump(mode="json") for r in results]
    summary = {s: sum(g["status"] == s for g in gates) for s in ("passed", "failed", "not run")}
    return {"run": run or {}, "summary": summary, "gates": gates, "studies": studies or {}}


def summary_table(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per gate: name, value, direction, threshold, status, sample sizes, reason (for tables/logs)."""
    return [{"gate": g["name"], "value": g["value"], "rule": f"{g['direction']} {g['threshold']}",
             "status": g["status"], "n": g["sample_sizes"], "reason": g["reason"]} for g in report["gates"]]


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figures(gates: list[dict[str, Any]]) -> list[tuple[str, str]]:
    from matplotlib.figure import Figure

    def subplots(figsize: tuple[float, float]) -> tuple[Figure, Any]:
        fig = Figure(figsize=figsize)  # no pyplot state: safe in threads, no backend needed
        return fig, fig.subplots()

    figs = []
    rocs = [(g["name"], g["details"]["roc"], g["value"]) for g in gates if "roc" in g["details"]]
    if rocs:
        fig, ax = subplots((4.5, 4.5))
        for name, roc, value in rocs:
            ax.plot(roc["fpr"], roc["tpr"], label=f"{name} (AUC {value:.3f})" if value is not None else name)
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC curves")
        ax.legend(fontsize=7)
        figs.append(("ROC curves", _png(fig)))
    strat = [g for g in gates if g["name"].startswith("stratified_auc") and g["details"].get("bins")]
    for g in strat:
        bins = g["details"]["bins"]
        fig, ax = subplots((5, 3))
        labels = [f"[{b['bin'][0]:g},{'∞' if b['bin'][1] is None else format(b['bin'][1], 'g')})" for b in bins]
        ax.bar(labels, [b["auc"] or 0 for b in bins], color=["C0" if b["auc"] is not None else "0.8" for b in bins])
        for i, b in enumerate(bins):
            ax.text(i, (b["auc"] or 0) + 0.01, f"n={b['n_pos']}", ha="center", fontsize=7)
        ax.axhline(g["threshold"], color="r", ls="--", lw=0.8)
        ax.set(ylim=(0, 1.1), ylabel="AUC (bin positives vs all negatives)", title=g["name"])
        figs.append((g["name"], _png(fig)))
    centre = next((g for g in gates if g["name"] == "centre_masked_drop" and g["details"].get("by_radius")), None)
    if centre:
        rs = centre["details"]["by_radius"]
        fig, ax = subplots((4.5, 3))
        ax.plot([r["radius_pix"] for r in rs], [100 * r["drop"] for r in rs], "o-")
        ax.axhline(100 * centre["threshold"], color="r", ls="--", lw=0.8, label="high reliance")
        ax.set(xlabel="mask radius R (px)", ylabel="drop of mean score (%)", title="centre-masked drop")
        ax.legend(fontsize=7)
        figs.append(("centre-masked drop against radius", _png(fig)))
    return figs


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def report_html(report: dict[str, Any], title: str = "Dark Halo Scope gate report") -> str:
    """Render ``report`` (from :func:`gate_report`) as one HTML page: summary, gate table, figures, studies."""
    colour = {"passed": "#d4edda", "failed": "#f8d7da", "not run": "#eeeeee"}
    rows = "".join(
        f"<tr style='background:{colour[g['status']]}'><td><b>{html.escape(g['name'])}</b></td>"
        f"<td>{_fmt(g['value'])}</td><td>{html.escape(g['direction'])} {_fmt(g['threshold'])}</td>"
        f"<td>{g['status'].upper()}</td><td>{_fmt(', '.join(f'{k}={v}' for k, v in g['sample_sizes'].items()))}</td>"
        f"<td>{html.escape(g['reason'])}</td><td><small>{html.escape(g['definition'])}</small></td></tr>"
        for g in report["gates"]
    )
    figs = "".join(f"<figure><img src='data:image/png;base64,{png}' alt='{html.escape(cap)}'>"
                   f"<figcaption>{html.escape(cap)}</figcaption></figure>" for cap, png in _figures(report["gates"]))
    studies = "".join(
        f"<h2>{html.escape(name)}</h2><table><tr>{''.join(f'<th>{html.escape(str(k))}</th>' for k in rows_[0])}</tr>"
        + "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in r.values()) + "</tr>" for r in rows_)
        + "</table>"
        for name, rows_ in report.get("studies", {}).items() if rows_
    )
    s = report["summary"]
    run = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in report.get("run", {}).items())
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:3px 6px;vertical-align:top}"
        "figure{display:inline-block;margin:1em}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><ul>{run}</ul>"
        f"<p><b>{s['passed']}</b> passed, <b>{s['failed']}</b> failed, <b>{s['not run']}</b> not run.</p>"
        "<table><tr><th>gate</th><th>value</th><th>pass if</th><th>verdict</th><th>samples</th><th>note</th>"
        f"<th>definition</th></tr>{rows}</table>{figs}{studies}</body></html>"
    )
