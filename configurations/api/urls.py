from django.urls import path
from rest_framework.routers import SimpleRouter

from configurations.api import views

router = SimpleRouter()
router.register("configurations", views.ConfigurationViewSet, basename="api-configuration")
router.register("poll-runs", views.PollRunViewSet, basename="api-pollrun")

urlpatterns = [
    *router.urls,
    path(
        "configurations/<int:pk>/history/",
        views.ConfigurationHistoryList.as_view(),
        name="api-configuration-history",
    ),
]
