"""OAuth authorization servers of Clio and Intuit (placeholder: being written)."""

from __future__ import annotations

from starlette.applications import Starlette

from ledgerlink.sandbox.state import SandboxState


def build_clio_oauth_app(state: SandboxState) -> Starlette:
    return Starlette()


def build_qbo_oauth_app(state: SandboxState) -> Starlette:
    return Starlette()
