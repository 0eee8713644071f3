"""Scenario fixtures: a demo firm in the sandbox, a config and store for it, both connections made."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledgerlink.config import load_config
from ledgerlink.demo import demo_config, scripted_browser
from ledgerlink.sandbox import Sandbox
from ledgerlink.workspace import Workspace


@dataclass
class Firm:
    sandbox: Sandbox
    config_path: Path
    workdir: Path

    def workspace(self) -> Workspace:
        return Workspace(load_config(self.config_path))

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run the real `ledgerlink` command in a child process against this firm."""
        return subprocess.run(
            [sys.executable, "-m", "ledgerlink", "--config", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "COLUMNS": "200", **(env or {})},
        )


@pytest.fixture
def firm(sandbox: Sandbox, tmp_path: Path) -> Iterator[Firm]:
    """The seeded demo firm, configured like the demo and connected through the OAuth code flow."""
    config_path = tmp_path / "config.toml"
    # The sandbox fixture's limits are wide open, so the client need not pace itself either.
    config_path.write_text(demo_config(sandbox, tmp_path, qbo_requests_per_second=1000), encoding="utf-8")
    with Workspace(load_config(config_path)) as workspace:
        workspace.connect("clio", open_url=scripted_browser)
        workspace.connect("qbo", open_url=scripted_browser)
    yield Firm(sandbox, config_path, tmp_path)
