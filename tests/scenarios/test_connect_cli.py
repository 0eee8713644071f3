"""`ledgerlink connect` and `ledgerlink sandbox serve` as a person uses them, in child processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from ledgerlink.sandbox import Sandbox, demo_firm
from ledgerlink.sandbox.server import SandboxUrls


def _config(urls: SandboxUrls, tmp_path: Path, box: Sandbox) -> Path:
    clio_id, clio_secret = next(iter(box.state.clio_apps.items()))
    qbo_id, qbo_secret = next(iter(box.state.qbo_apps.items()))
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[store]
url = "sqlite:///{tmp_path / "store.sqlite"}"
[secrets]
backend = "file"
file = "{tmp_path / "tokens.json"}"
[clio]
base_url = "{urls.base}/clio"
client_id = "{clio_id}"
client_secret = "{clio_secret}"
redirect_uri = "http://127.0.0.1:0/callback"
[qbo]
api_url = "{urls.qbo_api}"
authorize_url = "{urls.qbo_oauth}/authorize"
token_url = "{urls.qbo_oauth}/v1/tokens/bearer"
client_id = "{qbo_id}"
client_secret = "{qbo_secret}"
redirect_uri = "http://127.0.0.1:8765/callback"
"""
    )
    return path


def _connect_over_ssh(
    config: Path, provider: str, *flags: str, realm: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`connect --no-browser`: read the consent address, approve it elsewhere, paste the redirect back."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ledgerlink",
            "--config",
            str(config),
            "connect",
            provider,
            "--no-browser",
            *flags,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
    )
    assert child.stdout is not None and child.stdin is not None
    consent = ""
    for line in child.stdout:
        found = re.search(r"https?://\S+authorize\S+", line)
        if found:
            consent = found.group(0)
            break
    if realm:
        consent += f"&realm_hint={realm}"
    approved = httpx.get(consent, follow_redirects=False)
    assert approved.status_code in (302, 303)
    out, err = child.communicate(approved.headers["location"] + "\n", timeout=60)
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def test_connect_without_a_browser_pastes_the_redirect_and_names_the_company(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = _config(sandbox.urls, tmp_path, sandbox)
    qbo = _connect_over_ssh(config, "qbo")
    assert qbo.returncode == 0, qbo.stderr
    assert demo_firm.QBO_COMPANY_NAME in qbo.stdout and demo_firm.QBO_REALM_ID in qbo.stdout
    clio = _connect_over_ssh(config, "clio")
    assert clio.returncode == 0, clio.stderr
    assert demo_firm.FIRM_NAME in clio.stdout
    assert oct((tmp_path / "tokens.json").stat().st_mode & 0o777) == "0o600"


def test_switching_qbo_company_from_a_script_needs_yes(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.qbo.add_company("4620816365171111111", "Other Books")
    config = _config(sandbox.urls, tmp_path, sandbox)
    assert _connect_over_ssh(config, "qbo").returncode == 0
    refused = _connect_over_ssh(config, "qbo", realm="4620816365171111111")
    assert refused.returncode == 2
    assert "stays with" in refused.stderr and "--yes" in refused.stderr
    switched = _connect_over_ssh(config, "qbo", "--yes", realm="4620816365171111111")
    assert switched.returncode == 0, switched.stderr
    assert "Other Books" in switched.stdout


def test_connect_without_client_credentials_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "s.sqlite"}"\n[secrets]\nbackend = "env"\n')
    done = subprocess.run(
        [sys.executable, "-m", "ledgerlink", "--config", str(config), "connect", "qbo", "--no-browser"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("LEDGERLINK_")},
    )
    assert done.returncode == 2
    assert "qbo.client_id" in done.stderr and "LEDGERLINK_QBO_CLIENT_ID" in done.stderr


def test_sandbox_serve_prints_a_config_for_a_running_sandbox() -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "ledgerlink", "sandbox", "serve", "--port", "0", "--seed", "empty"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        base = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert base, first
        answer = httpx.get(f"{base.group(0)}/clio/api/v4/users/who_am_i.json")
        assert answer.status_code == 401  # a real server, strict about tokens
    finally:
        child.terminate()
        child.wait(timeout=10)
