"""Benchmark helpers: a fresh database on the configured server, and Django set up against it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def fresh_database(name: str) -> str:
    """Drop and create database ``name`` on DATABASE_URL's server; return a URL for it."""
    import psycopg2

    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    host = unquote(parts.hostname or "") if parts.hostname else ""
    if "%2F" in parts.netloc or "%2f" in parts.netloc:
        host = unquote(parts.netloc.split("@")[-1].rsplit(":", 1)[0])
    conn = psycopg2.connect(
        dbname="postgres",
        user=parts.username or "postgres",
        password=parts.password or None,
        host=host or None,
        port=parts.port or 5432,
    )
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return database_url(name)


def database_url(name: str) -> str:
    """DATABASE_URL with its database replaced by ``name`` (which is left as it is)."""
    return urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{quote(name)}"))


def setup_django(database_url: str) -> None:
    """Point Django at ``database_url`` and set it up (quiet logs)."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url
    # Own Redis databases, so benchmark tasks and locks never reach a `make run` worker.
    os.environ.setdefault("REDIS_BROKER_DB", "12")
    os.environ.setdefault("REDIS_CACHE_DB", "13")
    os.environ.setdefault("REDIS_SESSION_DB", "14")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftdetector.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
