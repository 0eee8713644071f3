"""Stateful emulators of Clio, QuickBooks Online and their OAuth servers, on 127.0.0.1."""

from __future__ import annotations

from ledgerlink.sandbox.server import Sandbox, SandboxUrls
from ledgerlink.sandbox.state import FaultRule, SandboxSettings, SandboxState

__all__ = ["FaultRule", "Sandbox", "SandboxSettings", "SandboxState", "SandboxUrls"]
