"""dhs-train: datasets over the stamp store, normalisations, lens classifiers and their training.

Only :func:`preprocess` is imported here, so ``import dhs_train`` stays torch-free (dhs-gates depends on it);
the torch parts live in their modules: ``dhs_train.data``, ``dhs_train.augment``, ``dhs_train.models``,
``dhs_train.training``, ``dhs_train.scoring``.
"""

from importlib.metadata import version

from dhs_train.preprocess import preprocess

__version__ = version("dhs-train")

__all__ = ["__version__", "preprocess"]
