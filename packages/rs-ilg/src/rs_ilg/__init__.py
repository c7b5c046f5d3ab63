"""rs-ilg."""
