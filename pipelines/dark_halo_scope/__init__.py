"""Dark Halo Scope: the Kedro project package (thin nodes over the five libraries)."""

__version__ = "0.1.0"
