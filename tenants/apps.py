from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from tenants.models import Tenant
        from tenants.selectors import forget_tenants

        post_save.connect(forget_tenants, sender=Tenant, dispatch_uid="tenant-slug-cache:save")
        post_delete.connect(forget_tenants, sender=Tenant, dispatch_uid="tenant-slug-cache:delete")
