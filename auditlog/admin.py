"""Audit log admin (tenant-scoped admin comes with the audit issue)."""
