"""Pages: the landing page and a tenant's home page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.access import user_is_msp
from tenants.selectors import current_settings


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """MSP staff go to the fleet page; a customer user goes to their own tenant."""
    if user_is_msp(request.user):
        return redirect("admin:fleet")
    return redirect(f"/t/{request.user.tenant.slug}/")


def tenant_home(request: HttpRequest) -> HttpResponse:
    """The tenant's posture page, read-only, for its own users and MSP staff (the
    middleware has already checked access and switched to the tenant's schema): open
    findings by severity, the list with detail, recent changes, last successful poll."""
    from tenants.posture import tenant_posture

    tenant = request.tenant
    return render(
        request,
        "tenants/tenant_home.html",
        {
            "tenant": tenant,
            "settings_version": current_settings(tenant),
            "api_root": reverse("tenant-api-root"),
            "is_msp": user_is_msp(request.user),
            **tenant_posture(tenant),
        },
    )
