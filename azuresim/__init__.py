"""Local Azure simulator: identity platform, ARM, Resource Graph and Activity Log over HTTPS.

Start it with ``python -m azuresim`` or in-process with :func:`azuresim.server.start_in_thread`;
drive it with :class:`azuresim.client.SimClient`.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
