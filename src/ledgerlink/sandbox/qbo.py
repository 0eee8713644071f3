"""QuickBooks Online v3 emulator (placeholder: being written)."""

from __future__ import annotations

from starlette.applications import Starlette

from ledgerlink.sandbox.state import SandboxState


class QboEmulator:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.app = Starlette()
