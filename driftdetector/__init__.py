"""Azure Drift Detector project package; loads the Celery app with Django."""

from driftdetector.celery import app as celery_app

__all__ = ("celery_app",)
