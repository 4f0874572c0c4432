"""Reads for users."""

from __future__ import annotations

from accounts.models import User


def user_for_login(login: str) -> User | None:
    """The user a sign-in attempt named (username, else email), with its tenant; or None."""
    if not login:
        return None
    users = User.objects.select_related("tenant")
    return (
        users.filter(username=login).first()
        or users.filter(email__iexact=login).order_by("pk").first()
    )
