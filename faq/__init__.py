"""Knowledge base and Russian-aware FAQ matching."""
