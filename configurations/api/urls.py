from django.urls import path

from configurations.api import views

urlpatterns = [
    path("configurations/", views.ConfigurationList.as_view(), name="api-configuration-list"),
    path(
        "configurations/<int:pk>/",
        views.ConfigurationDetail.as_view(),
        name="api-configuration-detail",
    ),
    path(
        "configurations/<int:pk>/history/",
        views.ConfigurationHistoryList.as_view(),
        name="api-configuration-history",
    ),
    path("poll-runs/", views.PollRunList.as_view(), name="api-pollrun-list"),
]
