"""Tenant API over collected configuration (read-only): resources, their history, poll runs."""

from __future__ import annotations

from rest_framework import generics, viewsets

from accounts.api.permissions import TenantAccess
from configurations import selectors
from configurations.api import filtersets, serializers
from configurations.models import ConfigurationHistory
from driftdetector.api.light import LightListMixin, LightRetrieveMixin
from driftdetector.api.pagination import CursorPagination


class ConfigurationViewSet(LightRetrieveMixin, viewsets.ReadOnlyModelViewSet):
    """Resources of the tenant, newest first, a cursor page at a time; the detail has the
    configuration document."""

    permission_classes = [TenantAccess]
    read_permission = "configurations.view_configuration"
    filterset_class = filtersets.ConfigurationFilterSet
    pagination_class = CursorPagination

    def get_queryset(self):
        return selectors.configurations().order_by()

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.ConfigurationDetailSerializer
        return serializers.ConfigurationSerializer


class ConfigurationHistoryList(LightListMixin, generics.ListAPIView):
    """Changes of one resource, newest first."""

    serializer_class = serializers.ConfigurationHistorySerializer
    permission_classes = [TenantAccess]
    read_permission = "configurations.view_configurationhistory"
    filterset_class = filtersets.HistoryFilterSet
    pagination_class = CursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ConfigurationHistory.objects.none()
        return selectors.history_of(self.kwargs["pk"]).order_by()


class PollRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Collection passes, newest first."""

    serializer_class = serializers.PollRunSerializer
    permission_classes = [TenantAccess]
    read_permission = "configurations.view_pollrun"
    filterset_class = filtersets.PollRunFilterSet
    pagination_class = CursorPagination

    def get_queryset(self):
        return selectors.poll_runs().order_by()
