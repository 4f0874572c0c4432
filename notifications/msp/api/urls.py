from rest_framework.routers import SimpleRouter

from notifications.msp.api import views

router = SimpleRouter()
router.register("notifications/channels", views.MspChannelViewSet, basename="api-msp-channel")
router.register("notifications/rules", views.MspRuleViewSet, basename="api-msp-rule")
router.register("notifications/deliveries", views.MspDeliveryViewSet, basename="api-msp-delivery")

urlpatterns = router.urls
