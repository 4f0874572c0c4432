from django.urls import path

from drift.api import views

urlpatterns = [
    path("drift/findings/", views.FindingList.as_view(), name="api-drift-findings"),
    path(
        "drift/findings/export/",
        views.OpenFindingsExport.as_view(),
        name="api-drift-findings-export",
    ),
    path(
        "drift/reports/<int:pk>/export/",
        views.ReportExport.as_view(),
        name="api-drift-report-export",
    ),
]
