"""The `dhs_gates` pipeline: a status report until the dhs-gates issue lands."""

from kedro.pipeline import Pipeline

from ..status import status_pipeline


def create_pipeline(**kwargs) -> Pipeline:
    return status_pipeline("dhs_gates", "dhs-gates")
