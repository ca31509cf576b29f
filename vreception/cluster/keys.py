"""The Redis keys of the cluster (one prefix per deployment, or per test)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterKeys:
    """Where the registry and the placements live under PREFIX."""

    prefix: str = "vreception:"

    @property
    def workers(self) -> str:
        """The set of every worker id that announced itself (live or not yet noticed dead)."""
        return f"{self.prefix}cluster:workers"

    @property
    def addresses(self) -> str:
        """Each known worker's address (a hash kept past its announcement: whoever adopts its sessions reads it)."""
        return f"{self.prefix}cluster:addresses"

    def worker(self, worker_id: str) -> str:
        """A worker's announcement (JSON), which expires unless its heartbeat renews it."""
        return f"{self.prefix}cluster:worker:{worker_id}"

    def placement(self, session_id: int) -> str:
        """The id of the worker holding SESSION_ID's media."""
        return f"{self.prefix}cluster:placement:{session_id}"

    def sessions(self, worker_id: str) -> str:
        """The set of session ids placed on a worker (its load, as placement counts it)."""
        return f"{self.prefix}cluster:sessions:{worker_id}"
