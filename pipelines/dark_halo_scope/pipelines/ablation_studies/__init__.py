"""The ``ablation_studies`` pipeline (part of ``ablations``); ``PARAMETERS`` validates ``params:ablation_studies``."""

from .pipeline import STUDIES, create_pipeline

#: Top-level parameter section -> its validator, imported only when a run validates its parameters (:mod:`.params`).
PARAMETERS = {"ablation_studies": "dark_halo_scope.pipelines.ablation_studies.params:validate"}

__all__ = ["PARAMETERS", "STUDIES", "create_pipeline"]
