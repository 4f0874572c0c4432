"""Models of the drift app (built with its issue)."""
