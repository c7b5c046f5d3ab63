"""glens-sim."""
