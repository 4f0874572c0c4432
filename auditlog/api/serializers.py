"""Audit rows as the API shows them (the raw Graph object is included in ``details``)."""

from __future__ import annotations

from rest_framework import serializers

from auditlog.models import SigningLog


class SigningLogSerializer(serializers.ModelSerializer):
    details = serializers.JSONField(source="log_data", read_only=True)

    class Meta:
        model = SigningLog
        fields = [
            "id",
            "source",
            "log_id",
            "timestamp",
            "actor",
            "action",
            "resource",
            "status",
            "client_ip",
            "details",
            "ingested_at",
        ]
        read_only_fields = fields
