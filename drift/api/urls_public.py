from django.urls import path

from drift.api import views

urlpatterns = [
    path("findings/", views.FleetFindingSearch.as_view(), name="api-fleet-findings"),
]
