"""The leakage audit's column lists: defined with the stamp-store schema in :mod:`dhs_inject.columns` (dhs-train
reads them too, and dhs-train cannot depend on dhs-gates), re-exported here as the gates' reference."""

from dhs_inject.columns import (
    DANGEROUS_COLUMNS,
    DANGEROUS_PREFIXES,
    SAFE_META_COLUMNS,
    classify_columns,
    dangerous_columns,
)

__all__ = ["DANGEROUS_COLUMNS", "DANGEROUS_PREFIXES", "SAFE_META_COLUMNS", "classify_columns", "dangerous_columns"]
