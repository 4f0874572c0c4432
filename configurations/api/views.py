"""Tenant API over collected configuration (read-only): resources, their history, poll runs."""

from __future__ import annotations

from rest_framework import generics

from accounts.api.permissions import TenantAccess
from configurations import selectors
from configurations.api import serializers


class ConfigurationList(generics.ListAPIView):
    """Current resources; filter by ?type=, ?subscription=, ?resource_group=, ?deleted=."""

    serializer_class = serializers.ConfigurationSerializer
    permission_classes = [TenantAccess]
    read_permission = "configurations.view_configuration"

    def get_queryset(self):
        params = self.request.query_params
        return selectors.configurations(
            resource_type=params.get("type"),
            subscription_id=params.get("subscription"),
            resource_group=params.get("resource_group"),
            deleted={"true": True, "false": False}.get((params.get("deleted") or "").lower()),
        )


class ConfigurationDetail(generics.RetrieveAPIView):
    serializer_class = serializers.ConfigurationDetailSerializer
    permission_classes = [TenantAccess]
    read_permission = "configurations.view_configuration"

    def get_queryset(self):
        return selectors.configurations()


class ConfigurationHistoryList(generics.ListAPIView):
    serializer_class = serializers.ConfigurationHistorySerializer
    permission_classes = [TenantAccess]
    read_permission = "configurations.view_configurationhistory"

    def get_queryset(self):
        return selectors.history_of(self.kwargs["pk"])


class PollRunList(generics.ListAPIView):
    serializer_class = serializers.PollRunSerializer
    permission_classes = [TenantAccess]
    read_permission = "configurations.view_pollrun"

    def get_queryset(self):
        return selectors.poll_runs()
