"""Admin forms for tenants and settings; validation comes from services and validation."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from tenants.models import AzureCredential, Tenant
from tenants.models import Settings as TenantSettings
from tenants.services import validate_new_tenant
from tenants.validation import SETTINGS_FIELDS, normalise_guid, settings_errors


class TenantOnboardingForm(forms.ModelForm):
    """Name, slug, Azure tenant id and the app registration that reads it, on one screen.

    The credential is picked from the stored ones or created inline (its secret is
    write-only); without one a tenant could never be polled.
    """

    new_credential_name = forms.CharField(
        required=False, label="or a new credential: name", max_length=100
    )
    new_client_id = forms.CharField(required=False, label="application (client) id", max_length=36)
    new_client_secret = forms.CharField(
        required=False,
        label="client secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: stored encrypted, never shown again.",
    )

    class Meta:
        model = Tenant
        fields = ["name", "slug", "azure_tenant_id", "azure_credential"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["azure_credential"].required = False
        self.fields["azure_credential"].label = "Azure credential (app registration)"

    def validate_unique(self) -> None:
        """Uniqueness is checked (with clearer messages) in ``clean``."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            data.update(
                validate_new_tenant(
                    name=data.get("name", ""),
                    slug=data.get("slug", ""),
                    azure_tenant_id=data.get("azure_tenant_id", ""),
                )
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        self._clean_new_credential(data)
        return data

    def _clean_new_credential(self, data: dict[str, Any]) -> None:
        new = [data.get(f) for f in ("new_credential_name", "new_client_id", "new_client_secret")]
        if data.get("azure_credential") is not None:
            if any(new):
                self.add_error(
                    "new_credential_name", "Pick a stored credential or create one, not both."
                )
            return
        if not any(new):
            self.add_error(
                "azure_credential",
                "Pick the app registration that reads this tenant, or create one below; "
                "without it the tenant cannot be polled.",
            )
            return
        for field, value in zip(
            ("new_credential_name", "new_client_id", "new_client_secret"), new, strict=True
        ):
            if not value:
                self.add_error(field, "Required for a new credential.")
        if data.get("new_client_id"):
            try:
                data["new_client_id"] = normalise_guid(data["new_client_id"], field="client_id")
            except ValidationError as exc:
                self.add_error("new_client_id", exc.message_dict["client_id"])
        if (
            data.get("new_credential_name")
            and AzureCredential.objects.filter(name=data["new_credential_name"]).exists()
        ):
            self.add_error(
                "new_credential_name", "A credential with this name exists: pick it above."
            )


class TenantChangeForm(forms.ModelForm):
    """The editable part of a tenant: its name and the credential it is read with."""

    class Meta:
        model = Tenant
        fields = ["name", "azure_credential"]


class PrettyJSONField(forms.JSONField):
    """A JSON document edited as indented, multi-line text (not one long line)."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


class SettingsVersionForm(forms.ModelForm):
    """A new settings version; each JSON document is checked against its JSON Schema."""

    class Meta:
        model = TenantSettings
        fields = ["tenant", *SETTINGS_FIELDS]
        field_classes = dict.fromkeys(SETTINGS_FIELDS, PrettyJSONField)
        widgets = {
            field: forms.Textarea(
                attrs={
                    "rows": 16,
                    "cols": 100,
                    "spellcheck": "false",
                    "style": "font-family:monospace",
                }
            )
            for field in SETTINGS_FIELDS
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in SETTINGS_FIELDS:
            # An empty object is a valid document; the JSON Schema decides what is required.
            self.fields[field].required = False

    def _clean_document(self, field: str) -> Any:
        value = self.cleaned_data.get(field)
        problems = settings_errors(field, value)
        if problems:
            raise ValidationError(problems)
        return value

    def clean_notification_settings(self) -> Any:
        return self._clean_document("notification_settings")

    def clean_polling_settings(self) -> Any:
        return self._clean_document("polling_settings")

    def clean_drift_thresholds(self) -> Any:
        return self._clean_document("drift_thresholds")


class AzureCredentialForm(forms.ModelForm):
    """Secrets are write-only: never rendered back; leaving a field blank keeps the stored value."""

    client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Leave blank to keep the stored secret.",
    )
    certificate_pem = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text="Write-only PEM (certificate and private key); leave blank to keep it.",
    )

    class Meta:
        model = AzureCredential
        fields = ["name", "client_id", "client_secret", "certificate_pem"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["certificate_pem"] = ""
        self.initial["client_secret"] = ""

    def clean_client_id(self) -> str:
        try:
            return normalise_guid(self.cleaned_data["client_id"], field="client_id")
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["client_id"]) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for field in ("client_secret", "certificate_pem"):
            if not data.get(field) and self.instance.pk:
                data[field] = getattr(self.instance, field)
        if not data.get("client_secret") and not data.get("certificate_pem"):
            raise ValidationError("Give a client secret or a certificate.")
        pem = data.get("certificate_pem") or ""
        if pem and ("PRIVATE KEY" not in pem or "CERTIFICATE" not in pem):
            self.add_error(
                "certificate_pem", "Paste a PEM holding both the certificate and its private key."
            )
        return data
