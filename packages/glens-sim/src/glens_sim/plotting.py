"""Shared styling of the package's image panels (matplotlib only; no pyplot state)."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.ticker import MaxNLocator

__all__ = ["sky_axes"]


def sky_axes(fig: Figure, ax: Axes, image: AxesImage, unit: str, label: str) -> None:
    """Axis labels ``x (<unit>)``/``y (<unit>)``, at most five readable (8 pt) ticks per axis,
    and a colour bar labelled ``label`` beside ``ax``."""
    ax.set_xlabel(f"x ({unit})", fontsize=9)
    ax.set_ylabel(f"y ({unit})", fontsize=9)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.tick_params(labelsize=8)
    fig.colorbar(image, ax=ax, shrink=0.85).set_label(label, fontsize=9)
