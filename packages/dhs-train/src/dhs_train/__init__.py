"""dhs-train: Datasets over the stamp store, normalisations, lens classifiers and their training.

The library lands with its own issue; until then it only reserves its name in the workspace.
"""

from importlib.metadata import version

__version__ = version("dhs-train")
