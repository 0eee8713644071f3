"""-v, -q and --log-file through the real `ledgerlink` process; `ledgerlink schedule` through CliRunner,
and the crontab line it prints run the way cron runs it."""

from __future__ import annotations

import json
import logging
import re
import socket
import stat
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledgerlink import cli
from ledgerlink.cli import logs
from ledgerlink.cli.exit_codes import EXIT_CODES
from ledgerlink.cli.schedule import current_user
from ledgerlink.errors import UserError
from ledgerlink.sandbox import Sandbox
from ledgerlink.sync.engine import LOCK_NAME
from tests.scenarios.conftest import Firm
from tests.scenarios.small_firm import SmallFirm, build_small_firm

LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: .+")
TAKEOVER = "taking over the pass lock"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """CliRunner runs the root callback in this process: undo its handlers and levels afterwards."""
    root, own = logging.getLogger(), logging.getLogger(logs.ROOT)
    levels = (root.level, own.level)
    yield
    logs.reset()
    root.setLevel(levels[0])
    own.setLevel(levels[1])


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user data dir (Config.state_dir), moved into the test's folder for this and child processes."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    return tmp_path / "xdg-data" / "ledgerlink"


@pytest.fixture
def small(empty_sandbox: Sandbox, tmp_path: Path) -> SmallFirm:
    """A connected firm with one client and one bill: a pass that writes one invoice, quickly."""
    firm = build_small_firm(empty_sandbox, tmp_path)
    firm.bill(firm.client("Ada", "Lovelace"), number="7001")
    return firm


def leave_a_stale_lock(firm: Firm) -> None:
    """The pass lock of a crashed pass on this machine: the next pass takes it over with a WARNING."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    with firm.workspace() as workspace:
        workspace.store.acquire_lock(LOCK_NAME, f"{socket.gethostname()}:{gone.pid}", 900)


def lines(text: str) -> list[str]:
    return text.splitlines()


def secrets_of(firm: Firm) -> set[str]:
    """Every token and client secret this firm's runs could have handled."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("access_token", "refresh_token") and item:
                    found.add(item)
                walk(item)

    walk(json.loads((firm.workdir / "tokens.json").read_text()))
    assert len(found) == 4  # Clio's and QuickBooks Online's access and refresh tokens
    config = tomllib.loads(firm.config_path.read_text())
    found.update(config[p]["client_secret"] for p in ("clio", "qbo") if config[p]["client_secret"])
    return found


# -- the log file and the switches, through the real process ------------------------------------


def test_log_file_gets_utc_lines_of_the_pass_in_a_file_only_its_owner_reads(small: SmallFirm) -> None:
    leave_a_stale_lock(small)
    path = small.workdir / "logs" / "ledgerlink.log"
    done = small.cli("--log-file", str(path), "sync", "--once")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    logged = lines(path.read_text())
    assert logged and all(LINE.fullmatch(line) for line in logged), logged
    assert " INFO ledgerlink.cli: started: ledgerlink sync " in logged[0]
    assert any(" WARNING ledgerlink.sync: " + TAKEOVER in line for line in logged)
    assert logged[-1].endswith(" INFO ledgerlink.cli: finished: exit 0 (clean)")
    assert not any(" DEBUG " in line for line in logged)
    # stderr shows the warning in the same format, and none of the INFO lines.
    warned = [line for line in lines(done.stderr) if TAKEOVER in line]
    assert len(warned) == 1 and LINE.fullmatch(warned[0])
    assert "started:" not in done.stderr


def test_quiet_keeps_info_and_warnings_off_stderr_but_still_prints_the_result(small: SmallFirm) -> None:
    leave_a_stale_lock(small)
    path = small.workdir / "ledgerlink.log"
    done = small.cli("-q", "--log-file", str(path), "sync", "--once")
    assert done.returncode == 0, done.stderr
    assert TAKEOVER in path.read_text()  # the warning happened, and stayed off stderr:
    assert not re.search(r" (DEBUG|INFO|WARNING) |warning:", done.stderr), done.stderr
    assert "Bills → invoices" in done.stdout
    assert small.invoice("7001")


def test_verbose_prints_debug_and_no_token_reaches_stderr_or_the_file(small: SmallFirm) -> None:
    before = secrets_of(small)
    path = small.workdir / "ledgerlink.log"
    done = small.cli("-v", "--log-file", str(path), "sync", "--once")
    assert done.returncode == 0, done.stderr
    debug = [line for line in lines(done.stderr) if " DEBUG ledgerlink.http: " in line]
    assert debug and all(LINE.fullmatch(line) for line in debug)
    written = path.read_text()
    assert " DEBUG ledgerlink.http: " in written
    for secret in before | secrets_of(small):
        assert secret not in written and secret not in done.stderr


def test_a_full_log_file_rolls_over_and_a_private_new_one_begins(small: SmallFirm) -> None:
    path = small.workdir / "ledgerlink.log"
    old = "2026-12-01T09:00:00Z INFO ledgerlink.sync: an older pass\n"
    path.write_text(old * (logs.LOG_FILE_MAX_BYTES // len(old)))
    path.chmod(0o644)
    done = small.cli("--log-file", str(path), "status")
    assert done.returncode == 0, done.stderr
    rolled = small.workdir / "ledgerlink.log.1"
    assert rolled.read_text() == old * (logs.LOG_FILE_MAX_BYTES // len(old))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert " started: ledgerlink status " in lines(path.read_text())[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["-v", "-q", "status"], "contradict"),
        (["--log-file", "{folder}", "status"], "cannot write the log file {folder}"),
        (["schedule", "--cron", "--interval", "7"], "every 7 minutes"),
        (["schedule", "--cron", "--interval", "0"], "Invalid value for '--interval'"),
    ],
)
def test_usage_mistakes_exit_2_with_a_message_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[sync]\ninterval_minutes = 5\n")
    with pytest.raises(SystemExit) as ended:
        cli.main(["--config", str(config), *(a.format(folder=tmp_path) for a in args)])
    assert ended.value.code == 2
    stderr = capsys.readouterr().err
    assert says.format(folder=tmp_path) in stderr and "Traceback" not in stderr


# -- schedule, through CliRunner -----------------------------------------------------------------


def schedule(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli.app, ["--config", str(config), "schedule", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def test_schedule_cron_prints_comments_then_one_line_running_one_pass(
    tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[sync]\ninterval_minutes = 15\n[secrets]\nbackend = "file"\n')
    monkeypatch.setenv("LEDGERLINK_STORE_URL", "postgresql://ll:pw-for-test@db/ledgerlink")
    text = schedule(config, "--cron", "--user")
    *comments, line = lines(text)
    assert comments and all(c.startswith("# ") for c in comments)
    assert line.startswith("*/15 * * * * out=$(")
    assert f" --config {config} --log-file {state_dir / 'ledgerlink.log'} sync --once 2>&1) || " in line
    assert "LEDGERLINK_STORE_URL" in text and "pw-for-test" not in text
    system = lines(schedule(config, "--cron", "--interval", "120"))[-1]  # /etc/cron.d names the account
    assert system.startswith(f"0 */2 * * * {current_user()} out=$(")


def test_schedule_systemd_prints_a_service_and_a_timer_under_file_headers(
    tmp_path: Path, state_dir: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[sync]\ninterval_minutes = 5\n")
    text = schedule(config, "--systemd", "--user", "--interval", "7")
    headers = [line for line in lines(text) if line.startswith("# --- file: ")]
    assert headers == [
        "# --- file: ~/.config/systemd/user/ledgerlink-sync.service ---",
        "# --- file: ~/.config/systemd/user/ledgerlink-sync.timer ---",
    ]
    assert f"--config {config} --log-file {state_dir / 'ledgerlink.log'} sync --once" in text
    assert {"Type=oneshot", "OnUnitActiveSec=7min"} <= set(lines(text))
    assert (
        "# Then: systemctl --user daemon-reload && systemctl --user enable --now ledgerlink-sync.timer"
        in text
    )


def test_schedule_refuses_what_cron_cannot_keep_and_a_missing_choice(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[sync]\ninterval_minutes = 45\n")
    for args in (["--cron"], [], ["--cron", "--systemd"]):
        result = CliRunner().invoke(cli.app, ["--config", str(config), "schedule", *args])
        assert isinstance(result.exception, UserError), args
        assert result.exception.exit_code == 2


# -- the crontab line, run as cron runs it -------------------------------------------------------


def cron_command(config: Path) -> str:
    """The command of the printed crontab line, as cron hands it to /bin/sh (``\\%`` → ``%``)."""
    line = lines(schedule(config, "--cron", "--user"))[-1]
    return line.split(" ", 5)[5].replace("\\%", "%")


def test_the_cron_line_runs_a_pass_and_passes_on_its_output_when_records_fail(
    small: SmallFirm, state_dir: Path
) -> None:
    # A QBO vendor already holds the name of a second client: that customer cannot be created (6240).
    small.sandbox.qbo.add(small.realm, "Vendor", {"DisplayName": "Grace Hopper"})
    small.bill(small.client("Grace", "Hopper"), number="7002")
    ran = subprocess.run(["/bin/sh", "-c", cron_command(small.config_path)], capture_output=True, text=True)
    assert "Grace Hopper" in ran.stdout and "need attention" in ran.stdout  # exit 1: cron mails this
    assert small.invoice("7001")  # the rest of the pass went on
    assert lines((state_dir / "ledgerlink.log").read_text())[-1].endswith("finished: exit 1 (record errors)")


def test_the_cron_line_is_silent_after_a_clean_pass(small: SmallFirm, state_dir: Path) -> None:
    ran = subprocess.run(["/bin/sh", "-c", cron_command(small.config_path)], capture_output=True, text=True)
    assert (ran.stdout, ran.stderr) == ("", "")
    assert small.invoice("7001")["TotalAmt"] == 500
    assert lines((state_dir / "ledgerlink.log").read_text())[-1].endswith("finished: exit 0 (clean)")


def test_root_help_lists_every_exit_code_and_schedule_help_says_when_cron_mails() -> None:
    shown = CliRunner().invoke(cli.app, ["--help"], terminal_width=120)
    assert shown.exit_code == 0
    listed = [line.strip(" │") for line in lines(shown.stdout)]
    for code, meaning in EXIT_CODES.items():
        assert f"{code}  {meaning}" in listed
    schedule_help = " ".join(
        CliRunner().invoke(cli.app, ["schedule", "--help"], terminal_width=120).stdout.split()
    )
    assert "Cron mails whatever a job prints" in schedule_help and "exits non-zero" in schedule_help
