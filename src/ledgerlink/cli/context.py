"""What every command shares: where the config is, and the workspace built from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from ledgerlink.config import Config, load_config
from ledgerlink.workspace import Workspace


@dataclass
class AppContext:
    config_path: Path | None = None

    def config(self, *, required: bool = True) -> Config:
        return load_config(self.config_path, required=required)

    def workspace(self, *, required: bool = True) -> Workspace:
        return Workspace(self.config(required=required))


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, AppContext) else AppContext()
