"""Models of the notifications app (built with its issue)."""
