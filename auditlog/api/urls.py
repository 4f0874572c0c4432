from rest_framework.routers import SimpleRouter

from auditlog.api import views

router = SimpleRouter()
router.register("audit/events", views.AuditLogViewSet, basename="api-audit-event")
router.register("audit/sign-ins", views.SignInViewSet, basename="api-audit-signin")

urlpatterns = router.urls
