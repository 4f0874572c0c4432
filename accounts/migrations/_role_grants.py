"""Shared by the migrations that add permissions to the default roles (not a migration:
the loader skips modules whose name starts with an underscore)."""

from collections.abc import Callable

from django.db import migrations


def grants_operation(grants: dict[str, list[str]]) -> migrations.RunPython:
    """A RunPython that adds ``grants`` (role name -> permission names) to existing roles
    and takes them away again when reversed; roles renamed or deleted are skipped."""

    def apply(change: Callable[[list[str], list[str]], list[str]]):
        def run(apps, schema_editor):
            Role = apps.get_model("accounts", "Role")
            for name, permissions in grants.items():
                role = Role.objects.filter(name=name).first()
                if role is not None:
                    role.permissions = change(role.permissions, permissions)
                    role.save(update_fields=["permissions"])

        return run

    def grant(held: list[str], added: list[str]) -> list[str]:
        return sorted(set(held) | set(added))

    def revoke(held: list[str], removed: list[str]) -> list[str]:
        return [p for p in held if p not in removed]

    return migrations.RunPython(apply(grant), apply(revoke))
