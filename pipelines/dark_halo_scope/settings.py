"""Kedro project settings.

Importing this module (Kedro does it when the project is configured, before any catalog exists) makes every
local fsspec write atomic (:mod:`dark_halo_scope.atomic`). Parameters merge *softly* across environments, so a
one-key override in ``conf/local/parameters.yml`` changes that key only; ``${globals:data_root}`` (per environment,
``conf/<env>/globals.yml``) prefixes every catalog path.
"""

import os
import warnings
from pathlib import Path

from kedro.config import OmegaConfigLoader

from . import atomic
from .hooks import ProvenanceHook, RunRecordHook

atomic.install()

# Third-party warnings a run cannot fix at the project's call sites, silenced by message and emitting module only
# (``tests/test_warnings.py`` checks that no warning comes from the project's own code):
# - omegaconf deprecated ``register_new_resolver`` (omry/omegaconf#1322, plan in #426); Kedro 1.7's config loader
#   and kedro-mlflow's hook still call it.
warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning,
                        module=r"kedro\.config\.omegaconf_config|kedro_mlflow\.framework\.hooks\.mlflow_hook")
# - torch 2.13 deprecated ``LeafSpec()``; Lightning 2.6 builds one for every dataloader it wraps
#   (Lightning-AI/pytorch-lightning#21326), whatever the caller passes to ``Trainer.fit``.
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning,
                        module=r"lightning\.pytorch\.utilities\._pytree")

HOOKS = (RunRecordHook(), ProvenanceHook())


def shared_path(relative: str = "") -> str:
    """``${shared:data/sparc}`` in conf: the project's shared data folder (``$DHS_SHARED``, default ``../shared``)."""
    return str(Path(os.environ.get("DHS_SHARED", "../shared")) / relative)


CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {"shared": shared_path},
    "merge_strategy": {"parameters": "soft", "globals": "soft"},
}
