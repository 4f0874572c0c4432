from django.urls import path

from accounts.api import views

urlpatterns = [
    path("tokens/", views.ApiTokenListCreate.as_view(), name="api-token-list"),
    path("tokens/<int:pk>/", views.ApiTokenRevoke.as_view(), name="api-token-revoke"),
]
