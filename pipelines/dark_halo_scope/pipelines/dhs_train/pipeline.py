"""The `dhs_train` pipeline: a status report until the dhs-train issue lands."""

from kedro.pipeline import Pipeline

from ..status import status_pipeline


def create_pipeline(**kwargs) -> Pipeline:
    return status_pipeline("dhs_train", "dhs-train")
