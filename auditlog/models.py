"""SigningLog: Azure sign-ins and platform audit events, one row each, in the tenant's schema."""

from __future__ import annotations

from django.db import models


class SigningLog(models.Model):
    """An audit record. The ERD's tenant_id is the schema this row lives in."""

    class Source(models.TextChoices):
        AZURE_SIGNIN = "azure_signin", "Azure sign-in"
        AZURE_DIRECTORY = "azure_directory", "Azure directory audit"
        PLATFORM = "platform", "Platform event"

    source = models.CharField(max_length=20, choices=Source.choices)
    log_id = models.CharField(max_length=100)
    timestamp = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=255, blank=True, db_index=True)
    action = models.CharField(max_length=100)
    resource = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=50, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    log_data = models.JSONField(default=dict, blank=True)
    ingested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-timestamp"]
        indexes = [models.Index(fields=["source", "-timestamp"], name="signinglog_source_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "log_id"], name="signinglog_unique_source_log_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"
