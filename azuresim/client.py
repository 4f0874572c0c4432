"""A small client for the simulator's ``/_sim`` control interface (stdlib only)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode


class SimControlError(RuntimeError):
    """The control interface answered with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"azuresim control call failed ({status}): {body}")
        self.status = status
        self.body = body


class SimClient:
    """Drive a running simulator: tenants, resource writes, faults, throttling, mutator."""

    def __init__(self, base_url: str, ca_path: str | Path, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._context = ssl.create_default_context(cafile=str(ca_path))

    @classmethod
    def from_server(cls, server: Any) -> SimClient:
        """Build from a :class:`azuresim.server.SimServer`."""
        return cls(server.base_url, server.ca_path)

    def _call(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> Any:
        url = f"{self.base_url}/_sim/{path}"
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - https only
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(  # noqa: S310 - our own https URL
                request, timeout=self.timeout, context=self._context
            ) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                detail: Any = json.loads(raw)
            except ValueError:
                detail = raw.decode("utf-8", "replace")
            raise SimControlError(exc.code, detail) from None

    # ----- tenants -------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Liveness and tenant count."""
        return self._call("GET", "health")

    def register_tenant(self, **spec: Any) -> dict[str, Any]:
        """Register a tenant: name, tenant_id, client_id, client_secret, subscriptions,
        resources, seed, certificate_pem (all optional). Returns it with subscription_ids."""
        return self._call("POST", "tenants", spec)

    def list_tenants(self) -> list[dict[str, Any]]:
        """Every registered tenant."""
        return self._call("GET", "tenants")["value"]

    def get_tenant(self, tenant_id: str) -> dict[str, Any]:
        """One tenant with its subscription ids."""
        return self._call("GET", f"tenants/{quote(tenant_id)}")

    def set_subscription_state(self, tenant_id: str, subscription_id: str, state: str) -> None:
        """Enabled | Warned | PastDue | Disabled | Deleted for one subscription of a tenant."""
        self._call(
            "PUT",
            f"tenants/{quote(tenant_id)}/subscriptions/{quote(subscription_id)}",
            {"state": state},
        )

    def set_policy_evaluation(self, interval: int) -> None:
        """Seconds between policy evaluations (policy states change at each)."""
        self._call("PUT", "policy-evaluation", {"interval": interval})

    def remove_tenant(self, tenant_id: str) -> None:
        """Forget a tenant, its estate and its events."""
        self._call("DELETE", f"tenants/{quote(tenant_id)}")

    # ----- resources -----------------------------------------------------------------
    def get_resource(self, resource_id: str) -> dict[str, Any]:
        """The current Resource Graph row of a resource."""
        return self._call("GET", "resources", query={"id": resource_id})

    def create_resource(self, resource: dict[str, Any], caller: Any = None) -> dict[str, Any]:
        """Create a resource (needs ``id`` and ``type``), recorded as a write by ``caller``."""
        return self._call("POST", "resources", {"resource": resource, "caller": caller})

    def modify_resource(
        self, resource_id: str, patch: dict[str, Any], caller: Any = None
    ) -> dict[str, Any]:
        """JSON-merge-patch a resource, recorded as a write by ``caller``."""
        return self._call(
            "PATCH", "resources", {"id": resource_id, "patch": patch, "caller": caller}
        )

    def open_inbound_port(
        self,
        nsg_id: str,
        port: str = "22",
        source: str = "Internet",
        caller: Any = None,
        rule_name: str = "zz-open-ssh",
    ) -> dict[str, Any]:
        """Add an NSG rule allowing inbound TCP ``port`` from ``source`` (a classic drift)."""
        rule = {
            "name": rule_name,
            "properties": {
                "access": "Allow",
                "direction": "Inbound",
                "protocol": "Tcp",
                "priority": 4000,
                "sourceAddressPrefix": source,
                "destinationPortRange": port,
                "sourcePortRange": "*",
                "destinationAddressPrefix": "*",
            },
        }
        return self.modify_resource(
            nsg_id, {"properties": {"securityRules": [rule]}}, caller=caller
        )

    def delete_resource(self, resource_id: str, caller: str | None = None) -> dict[str, Any]:
        """Delete a resource, recorded as a delete by ``caller``."""
        return self._call("DELETE", "resources", query={"id": resource_id, "caller": caller})

    def fail_write(self, resource_id: str, caller: Any = None) -> list[dict[str, Any]]:
        """A write Azure refuses (Started, Failed events); the resource does not change."""
        body = {"id": resource_id, "patch": {}, "caller": caller, "outcome": "failed"}
        return self._call("PATCH", "resources", body)["events"]

    def invoke_action(
        self, resource_id: str, action: str = "listKeys", caller: Any = None
    ) -> list[dict[str, Any]]:
        """A POST ``/{action}/action`` that changes nothing; returns its events."""
        body = {"id": resource_id, "action": action, "caller": caller}
        return self._call("POST", "actions", body)["events"]

    def set_changes_lag(self, seconds: float) -> float:
        """Set the delay before a write's row appears in Resource Graph's change tables."""
        return float(self._call("PUT", "changes", {"lag": seconds})["lag"])

    def set_activity_lag(self, seconds: float) -> float:
        """Set the Activity Log ingestion delay (seconds) for events recorded from now on."""
        return float(self._call("PUT", "activity", {"lag": seconds})["lag"])

    def set_graph_access(
        self,
        tenant_id: str,
        permissions: list[str] | None = None,
        premium: bool | None = None,
    ) -> dict[str, Any]:
        """The app's consented Graph permissions in a tenant and its P1/P2 licence."""
        body = {"tenant_id": tenant_id, "permissions": permissions, "premium": premium}
        return self._call("PUT", "graph-access", body)

    def set_graph_audit(self, tenant_id: str, **options: Any) -> dict[str, Any]:
        """The tenant's audit feed (rates, injected rows, skip-token and throttle faults)."""
        return self._call("PUT", "graph-audit", {"tenant_id": tenant_id, **options})

    # ----- interactive sign-in -------------------------------------------------------
    def register_app(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str],
        optional_claims: list[str] | None = None,
    ) -> dict[str, Any]:
        """Register the web app users sign in to (accepted in every simulated directory);
        ``optional_claims`` (email, given_name, family_name) go into its id tokens."""
        body = {
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uris": redirect_uris,
            "optional_claims": list(optional_claims or []),
        }
        return self._call("POST", "apps", body)

    def add_user(
        self,
        tenant_id: str,
        upn: str,
        given_name: str = "",
        family_name: str = "",
        oid: str | None = None,
        mail: str | None = None,
    ) -> dict[str, Any]:
        """Add a user (sign-in name ``upn``) to a tenant's directory; ``mail`` is the
        mailbox address when it differs (``""``: none). Returns it with its ``oid``."""
        body: dict[str, Any] = {
            "tenant_id": tenant_id,
            "upn": upn,
            "given_name": given_name,
            "family_name": family_name,
            "oid": oid,
        }
        if mail is not None:
            body["mail"] = mail
        return self._call("POST", "users", body)

    def set_signin_fault(self, kind: str | None) -> dict[str, Any]:
        """Spoil the next id token: wrong_audience, expired, bad_signature, wrong_nonce,
        wrong_issuer; None clears."""
        return self._call("PUT", "signin-fault", {"kind": kind})

    # ----- faults and throttling -----------------------------------------------------
    def add_fault(self, **fault: Any) -> str:
        """Add a fault rule; returns its id. Keys: action (status|delay|malformed), status,
        retry_after, delay, tenant_id, path_regex, method, page, table (a Resource Graph
        query's first table), count (None = persistent), headers."""
        return self._call("POST", "faults", fault)["id"]

    def list_faults(self) -> list[dict[str, Any]]:
        """Active fault rules with how often each fired."""
        return self._call("GET", "faults")["value"]

    def remove_fault(self, fault_id: str) -> None:
        """Remove one fault rule."""
        self._call("DELETE", f"faults/{quote(fault_id)}")

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._call("DELETE", "faults")

    def set_throttling(self, mode: str, tenant_id: str | None = None) -> dict[str, Any]:
        """``off`` | ``headers`` | ``enforce``, globally or for one tenant."""
        return self._call("PUT", "throttling", {"mode": mode, "tenant_id": tenant_id})

    # ----- mutator, reset, stats -----------------------------------------------------
    def churn_volatile(self, tenant_id: str, seed: int | None = None) -> int:
        """New values for every read-only, self-changing property of a tenant's resources."""
        body = {"tenant_id": tenant_id, "volatile": "all", "seed": seed}
        return int(self._call("POST", "mutator/step", body)["churned"])

    def start_mutator(
        self,
        interval: float,
        tenant_id: str | None = None,
        batch: int = 1,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """Change ``batch`` random resources every ``interval`` seconds."""
        body = {"interval": interval, "tenant_id": tenant_id, "batch": batch, "seed": seed}
        return self._call("POST", "mutator", body)

    def stop_mutator(self) -> dict[str, Any]:
        """Stop the mutator; returns its final status."""
        return self._call("DELETE", "mutator")

    def mutator_status(self) -> dict[str, Any]:
        """Whether the mutator runs and how many changes it made."""
        return self._call("GET", "mutator")

    def mutate_once(
        self, tenant_id: str | None = None, count: int = 1, seed: int | None = None
    ) -> list[dict[str, Any]]:
        """Apply ``count`` random changes now; returns what changed and by whom."""
        body = {"tenant_id": tenant_id, "count": count, "seed": seed}
        return self._call("POST", "mutator/step", body)["value"]

    def reset(self) -> None:
        """Forget tenants, faults, throttling state and events; stop the mutator."""
        self._call("POST", "reset", {})

    def client_request_ids(self) -> list[str]:
        """The x-ms-client-request-id / client-request-id of recent requests, oldest first."""
        return self._call("GET", "client-request-ids")["value"]

    def stats(self) -> dict[str, int]:
        """Requests served per route name (e.g. ``graph.resources``)."""
        return self._call("GET", "stats")["requests"]
