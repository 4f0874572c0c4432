"""The MSP's admin site: MSP staff only, with the fleet page beside the model admins."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.access import user_is_msp


class SignInThroughAllauth:
    """Admin sites sign in through allauth's page (rate limits, MFA, Entra ID button).

    The admin's own login form would bypass those checks; a signed-in user without
    admin rights gets a 403 page instead of a redirect loop back to sign-in.
    """

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.user.is_authenticated:
            return TemplateResponse(
                request, "admin/not_allowed.html", {"title": "Not allowed"}, status=403
            )
        target = request.GET.get(REDIRECT_FIELD_NAME) or request.path.replace("login/", "")
        return redirect_to_login(target, resolve_url(settings.LOGIN_URL))


class DriftAdminSite(SignInThroughAllauth, admin.AdminSite):
    site_header = "Azure Drift Detector"
    site_title = "Azure Drift Detector"
    index_title = "MSP administration"
    index_template = "admin/drift_index.html"

    def has_permission(self, request: HttpRequest) -> bool:
        """Staff of the MSP tenant only; customer users never see the public admin."""
        return super().has_permission(request) and user_is_msp(request.user)

    # Distinct section names (allauth's "account" and ours were both "Accounts").
    APP_NAMES = {
        "accounts": "Users, roles and API tokens",
        "account": "Sign-in email addresses",
        "mfa": "Two-factor authentication",
        "social_django": "Microsoft sign-in links",
        "django_celery_beat": "Schedules",
        "tenants": "Customer tenants and credentials",
    }

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list:
        apps = super().get_app_list(request, app_label)
        for app in apps:
            app["name"] = self.APP_NAMES.get(app["app_label"], app["name"])
        return apps

    def get_urls(self):
        return [path("fleet/", self.admin_view(self.fleet_view), name="fleet"), *super().get_urls()]

    #: Tenants per fleet page: the sort and the 30-day total cover the whole fleet, the
    #: table (and its SVGs, links and sign-in counts) only the page on screen.
    FLEET_PAGE_SIZE = 100

    def fleet_view(self, request: HttpRequest) -> TemplateResponse:
        """The MSP's daily screen: every customer tenant with poll state, open drift by
        severity and its 30-day trend, sortable by any column (default ``?o=-worst``: by
        critical findings, then high, medium and low), ``FLEET_PAGE_SIZE`` tenants a page
        (``?p=``)."""
        from django.core.paginator import Paginator

        from auditlog.selectors import fleet_sign_ins
        from tenants.charts import polyline_points
        from tenants.selectors import FLEET_SORT_KEYS, fleet_rows, fleet_trend, with_trend_chart

        order = request.GET.get("o", "-worst")
        every_row = fleet_rows(order)
        page = Paginator(every_row, self.FLEET_PAGE_SIZE).get_page(request.GET.get("p"))
        rows = [with_trend_chart(row) for row in page.object_list]
        # One reverse() for the page, not one per row (200 rows: a measurable share).
        change_url = reverse("admin:tenants_tenant_change", args=[0])
        sign_ins = fleet_sign_ins([row["tenant"].pk for row in rows])
        for row in rows:
            row["change_url"] = change_url.replace("/0/", f"/{row['tenant'].pk}/", 1)
            row["sign_ins"] = sign_ins[row["tenant"].pk]
        total = fleet_trend({row["tenant"].pk: row["trend"] for row in every_row})
        known = [v for v in total if v is not None]
        context = {
            **self.each_context(request),
            "title": "Fleet",
            "rows": rows,
            "page": page,
            "order": order,
            "sort_links": {
                key: f"?o={'' if order == '-' + key else '-'}{key}" for key in FLEET_SORT_KEYS
            },
            "fleet_trend_points": polyline_points(total, 600, 80),
            "fleet_trend_max": max(known, default=0),
            "fleet_trend_now": known[-1] if known else 0,
            "fleet_trend_days": len(known),
        }
        return TemplateResponse(request, "admin/fleet.html", context)


class TenantAdminSite(SignInThroughAllauth, admin.AdminSite):
    """The admin inside one customer tenant (``/t/<slug>/admin/``), for MSP staff.

    The tenant middleware has already decided the user may enter this tenant and has
    switched the connection to its schema.
    """

    site_header = "Azure Drift Detector - tenant"
    site_title = "Azure Drift Detector"
    # Findings need the page's width; the app list is on the index page.
    enable_nav_sidebar = False

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and user_is_msp(request.user)

    def each_context(self, request: HttpRequest) -> dict:
        context = super().each_context(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            context["site_header"] = f"{tenant.name} - Azure Drift Detector"
            context["index_title"] = f"{tenant.name} ({tenant.slug})"
        return context


tenant_admin_site = TenantAdminSite(name="tenant_admin")
