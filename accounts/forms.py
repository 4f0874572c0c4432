"""Admin forms for users and roles."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import Permission

from accounts.models import Role


def permission_choices() -> list[tuple[str, str]]:
    """Every Django permission as (``app.codename``, readable label), grouped by app and model."""
    rows = Permission.objects.select_related("content_type").order_by(
        "content_type__app_label", "content_type__model", "codename"
    )
    return [
        (f"{p.content_type.app_label}.{p.codename}", f"{p.content_type.app_label} | {p.name}")
        for p in rows
    ]


class RoleForm(forms.ModelForm):
    """Role permissions as checkboxes rather than raw JSON; unknown names cannot be chosen."""

    permissions = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, choices=permission_choices
    )

    class Meta:
        model = Role
        fields = ["name", "description", "scope", "permissions"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["permissions"] = list(self.instance.permissions)


class UserCreationForm(forms.ModelForm):
    """Admin 'add user': username, email, tenant, role and a password typed twice."""

    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(
        label="Password confirmation", widget=forms.PasswordInput, strip=False
    )

    class Meta:
        from accounts.models import User

        model = User
        fields = ["username", "email", "tenant", "role"]

    def clean_password2(self) -> str:
        from django.contrib.auth import password_validation

        p1, p2 = self.cleaned_data.get("password1"), self.cleaned_data.get("password2")
        if p1 and p2 and p1 != p2:
            raise forms.ValidationError("The two passwords differ.")
        password_validation.validate_password(p2, self.instance)
        return p2

    def save(self, commit: bool = True):
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password1"])
        if commit:
            user.save()
        return user


class UserChangeForm(forms.ModelForm):
    """Admin 'change user'; the password is shown as its hash summary, never editable here."""

    from django.contrib.auth.forms import ReadOnlyPasswordHashField

    password = ReadOnlyPasswordHashField(label="Password")

    class Meta:
        from accounts.models import User

        model = User
        fields = [
            "username",
            "password",
            "first_name",
            "last_name",
            "email",
            "tenant",
            "role",
            "is_active",
            "is_staff",
            "is_superuser",
        ]
