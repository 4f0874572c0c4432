"""Users (one tenant each) and roles (lists of Django permission names)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import models

from accounts.fields import EncryptedTextField


class Role(models.Model):
    """A named set of Django permissions, granted to its users by the auth backend.

    MSP roles apply in every tenant the holder may enter; customer roles only inside the
    holder's own tenant.
    """

    class Scope(models.TextChoices):
        MSP = "msp", "MSP staff"
        CUSTOMER = "customer", "Customer"

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=500, blank=True)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.CUSTOMER)
    permissions = models.JSONField(
        default=list,
        blank=True,
        help_text='Django permission names, e.g. "drift.view_driftfinding".',
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from accounts.services import unknown_permission_names

        if not isinstance(self.permissions, list) or not all(
            isinstance(p, str) for p in self.permissions
        ):
            raise ValidationError({"permissions": "Give a list of permission names."})
        unknown = unknown_permission_names(self.permissions)
        if unknown:
            raise ValidationError({"permissions": f"Unknown permissions: {', '.join(unknown)}"})


class UserManager(BaseUserManager["User"]):
    """Creates users in a tenant; without one, in the MSP's (public) tenant."""

    use_in_migrations = True

    def _create(self, username: str, email: str | None, password: str | None, **extra: Any) -> User:
        if not username:
            raise ValueError("A username is required.")
        if extra.get("tenant") is None and extra.get("tenant_id") is None:
            from tenants.selectors import public_tenant

            extra["tenant"] = public_tenant()
        user = self.model(username=username, email=self.normalize_email(email or ""), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(username, email, password, **extra)

    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        if extra.get("role") is None and extra.get("role_id") is None:
            extra["role"] = Role.objects.filter(name="MSP Admin").first()
        return self._create(username, email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: MSP staff (public tenant) or a customer's user (their tenant)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="users")
    role = models.ForeignKey(
        Role, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    username = models.CharField(
        max_length=150, unique=True, validators=[UnicodeUsernameValidator()]
    )
    email = models.EmailField(blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    microsoft_id = models.CharField(
        "Microsoft object id", max_length=64, null=True, blank=True, unique=True
    )
    access_token = EncryptedTextField(blank=True, default="", editable=False)
    refresh_token = EncryptedTextField(blank=True, default="", editable=False)
    token_expiry = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField("active", default=True)
    is_staff = models.BooleanField(
        "staff status", default=False, help_text="May use the MSP admin (MSP staff only)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username

    def clean(self) -> None:
        super().clean()
        self.email = type(self).objects.normalize_email(self.email)
        from accounts.access import user_is_msp

        if self.tenant_id and not user_is_msp(self):
            errors = {}
            if self.is_staff or self.is_superuser:
                errors["is_staff"] = "Only MSP staff (users of the MSP tenant) may use the admin."
            if self.role and self.role.scope == Role.Scope.MSP:
                errors["role"] = "MSP roles are for users of the MSP tenant."
            if errors:
                raise ValidationError(errors)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name


class ApiToken(models.Model):
    """A named API credential of one user: only a lookup prefix and a SHA-256 hash are kept.

    The clear token (``ddt_<prefix>_<secret>``) is shown once, when it is created. A
    read-only token may only use safe methods; revoked or expired tokens authenticate
    nobody.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
