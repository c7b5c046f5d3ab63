"""dhs-inject."""
