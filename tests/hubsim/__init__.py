"""A loopback Hugging Face Hub simulator for tests (standard library HTTP server)."""

from __future__ import annotations

from .faults import Fault
from .jobs import Accelerator, Flavor, Job
from .records import BridgeRecord, CommitRecord, RequestRecord
from .sim import HubSim

__all__ = ["Accelerator", "BridgeRecord", "CommitRecord", "Fault", "Flavor", "HubSim", "Job", "RequestRecord"]
