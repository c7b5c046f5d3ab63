"""dhs-gates."""
