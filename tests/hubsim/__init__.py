"""A loopback Hugging Face Hub simulator for tests (standard library HTTP server)."""

from __future__ import annotations

from .faults import Fault
from .records import BridgeRecord, CommitRecord, RequestRecord
from .sim import HubSim

__all__ = ["BridgeRecord", "CommitRecord", "Fault", "HubSim", "RequestRecord"]
