from rest_framework.routers import SimpleRouter

from accounts.api import views

router = SimpleRouter()
router.register("tokens", views.ApiTokenViewSet, basename="api-token")
router.register("users", views.UserViewSet, basename="api-user")
router.register("roles", views.RoleViewSet, basename="api-role")

urlpatterns = router.urls
