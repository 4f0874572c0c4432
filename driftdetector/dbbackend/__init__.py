"""Database backend: django-tenants' PostgreSQL backend that skips a redundant
``SET search_path`` on a kept connection (see ``base.DatabaseWrapper``)."""
