from rest_framework.routers import SimpleRouter

from drift.api import views

router = SimpleRouter()
router.register("drift/findings", views.FindingViewSet, basename="api-drift-finding")
router.register("drift/reports", views.ReportViewSet, basename="api-drift-report")
router.register("drift/baselines", views.BaselineViewSet, basename="api-drift-baseline")
router.register("drift/exceptions", views.ExceptionViewSet, basename="api-drift-exception")

urlpatterns = router.urls
