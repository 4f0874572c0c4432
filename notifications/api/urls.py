from rest_framework.routers import SimpleRouter

from notifications.api import views

router = SimpleRouter()
router.register("notifications/channels", views.ChannelViewSet, basename="api-notify-channel")
router.register("notifications/rules", views.RuleViewSet, basename="api-notify-rule")
router.register("notifications/deliveries", views.DeliveryViewSet, basename="api-notify-delivery")
router.register("notifications/snoozes", views.SnoozeViewSet, basename="api-notify-snooze")

urlpatterns = router.urls
