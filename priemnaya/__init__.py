"""priemnaya package."""
