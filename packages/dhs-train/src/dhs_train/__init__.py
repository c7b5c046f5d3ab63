"""dhs-train."""
