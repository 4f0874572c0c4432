"""Where Azure is: the public cloud, or the local simulator, as configured in settings."""

from __future__ import annotations

from dataclasses import dataclass

PUBLIC_AUTHORITY = "https://login.microsoftonline.com"
PUBLIC_ARM = "https://management.azure.com"
PUBLIC_GRAPH = "https://graph.microsoft.com"
KNOWN_AUTHORITIES = (
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
)


@dataclass(frozen=True)
class AzureEndpoints:
    """Authority (Entra ID), ARM and Graph base URLs, and an optional CA bundle to trust."""

    authority_host: str = PUBLIC_AUTHORITY
    arm_endpoint: str = PUBLIC_ARM
    graph_endpoint: str = PUBLIC_GRAPH
    ca_bundle: str | None = None

    @property
    def arm_scope(self) -> str:
        """The ``.default`` scope for ARM tokens."""
        return self.arm_endpoint.rstrip("/") + "/.default"

    @property
    def is_public_cloud(self) -> bool:
        """True for a well-known Microsoft authority (instance discovery stays on)."""
        host = self.authority_host.split("://", 1)[-1].split("/", 1)[0].lower()
        return host in KNOWN_AUTHORITIES

    @property
    def verify(self) -> str | bool:
        """The ``connection_verify`` value for azure-core transports."""
        return self.ca_bundle or True


def endpoints_from_settings() -> AzureEndpoints:
    """Read AZURE_AUTHORITY_HOST, AZURE_ARM_ENDPOINT, AZURE_GRAPH_ENDPOINT, AZURE_CA_BUNDLE.

    The only place this package touches Django; everything else takes explicit arguments.
    """
    from django.conf import settings

    return AzureEndpoints(
        authority_host=getattr(settings, "AZURE_AUTHORITY_HOST", None) or PUBLIC_AUTHORITY,
        arm_endpoint=getattr(settings, "AZURE_ARM_ENDPOINT", None) or PUBLIC_ARM,
        graph_endpoint=getattr(settings, "AZURE_GRAPH_ENDPOINT", None) or PUBLIC_GRAPH,
        ca_bundle=getattr(settings, "AZURE_CA_BUNDLE", None) or None,
    )
