"""Log routing: one UTC line format, stderr by -v/-q, a private rotating file that never holds a token."""

from __future__ import annotations

import logging
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledgerlink.cli import logs
from ledgerlink.errors import LedgerlinkError, UserError
from ledgerlink.http import register_secret

LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: .+")
TOKEN = "eyJhbGciOiJSUzI1NiJ9.unit-test-access-token.c2lnbmF0dXJl"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root, own = logging.getLogger(), logging.getLogger(logs.ROOT)
    levels = (root.level, own.level)
    yield
    logs.reset()
    root.setLevel(levels[0])
    own.setLevel(levels[1])


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_file_lines_are_utc_with_z_level_logger_and_message(tmp_path: Path) -> None:
    path = tmp_path / "ledgerlink.log"
    logs.configure(log_file=path)
    logging.getLogger("ledgerlink.sync").info("posted invoice %s", "1042")
    logs.reset()
    (line,) = _lines(path)
    assert LINE.fullmatch(line)
    assert line.endswith(" INFO ledgerlink.sync: posted invoice 1042")


def test_the_file_is_created_0600_in_a_folder_made_for_it(tmp_path: Path) -> None:
    path = tmp_path / "state" / "logs" / "ledgerlink.log"
    logs.configure(log_file=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert logs.log_file() == path


def test_a_token_never_reaches_the_file_not_even_in_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "ledgerlink.log"
    register_secret(TOKEN)
    logs.configure(verbose=True, log_file=path)
    http = logging.getLogger("ledgerlink.http")
    http.debug("sending Authorization: Bearer %s", TOKEN)
    http.info('token response {"access_token": "%s", "refresh_token": "AB11-refresh-9876543"}', TOKEN)
    try:
        raise RuntimeError(f"refused {TOKEN}")
    except RuntimeError:
        http.exception("the API refused the request")
    logs.reset()
    text = path.read_text(encoding="utf-8")
    assert TOKEN not in text and "AB11-refresh-9876543" not in text
    assert text.count("***") >= 4 and "Traceback" in text


def test_the_file_rotates_at_its_size_keeping_the_configured_number_of_old_files(tmp_path: Path) -> None:
    path = tmp_path / "ledgerlink.log"
    logs.configure(log_file=path, max_bytes=2_000, backups=2)
    for n in range(200):
        logging.getLogger("ledgerlink.sync").info("line %03d of a busy pass", n)
    logs.reset()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ledgerlink.log",
        "ledgerlink.log.1",
        "ledgerlink.log.2",
    ]
    for kept in tmp_path.iterdir():
        assert kept.stat().st_size <= 2_000
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert _lines(path)[-1].endswith("line 199 of a busy pass")


def test_the_file_has_ledgerlink_info_but_only_warnings_from_other_libraries(tmp_path: Path) -> None:
    path = tmp_path / "ledgerlink.log"
    logs.configure(log_file=path)
    logging.getLogger("httpx").info("HTTP Request: GET /bills.json")
    logging.getLogger("keyring.backend").warning("no keyring backend")
    logging.getLogger("ledgerlink.sync").debug("a detail nobody asked for")
    logging.getLogger("ledgerlink.sync").info("pass 12 started")
    logs.reset()
    messages = [line.split(" ", 2)[2] for line in _lines(path)]
    assert messages == ["keyring.backend: no keyring backend", "ledgerlink.sync: pass 12 started"]


def test_stderr_shows_warnings_by_default_debug_with_verbose_errors_only_with_quiet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sync = logging.getLogger("ledgerlink.sync")
    shown = {}
    for name, switches in {"default": {}, "verbose": {"verbose": True}, "quiet": {"quiet": True}}.items():
        logs.configure(**switches)
        sync.debug("d")
        sync.info("i")
        sync.warning("w")
        sync.error("e")
        shown[name] = [line.split(" ")[1] for line in capsys.readouterr().err.splitlines()]
    assert shown == {
        "default": ["WARNING", "ERROR"],
        "verbose": ["DEBUG", "INFO", "WARNING", "ERROR"],
        "quiet": ["ERROR"],
    }
    assert logs.quiet()


def test_event_lines_reach_stderr_that_no_one_watches_unless_quiet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure()  # capsys's stderr is not a terminal, like cron's
    logs.event("pass.finished", created=3, failed=1)
    (line,) = capsys.readouterr().err.splitlines()
    assert LINE.fullmatch(line) and line.endswith(
        " INFO ledgerlink.events: event=pass.finished created=3 failed=1"
    )
    logs.configure(quiet=True)
    logs.event("pass.finished", created=0)
    assert capsys.readouterr().err == ""


def test_event_values_with_spaces_or_quotes_are_quoted() -> None:
    line = logs.event_line(
        "pass.finished",
        {"company": "Whitfield & Ames LLP", "dry_run": False, "note": None, "said": 'a "b"', "n": 3},
    )
    assert (
        line == r'event=pass.finished company="Whitfield & Ames LLP" dry_run=false note="" said="a \"b\"" n=3'
    )
    assert logs.event_line("x", {"why": "two\nlines"}) == r'event=x why="two\nlines"'


def test_verbose_and_quiet_together_is_a_usage_error() -> None:
    with pytest.raises(UserError) as refused:
        logs.configure(verbose=True, quiet=True)
    assert refused.value.exit_code == 2


def test_a_log_file_that_cannot_be_written_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(UserError) as refused:
        logs.configure(log_file=tmp_path)  # a folder
    assert refused.value.exit_code == 2 and str(tmp_path) in str(refused.value)
    assert "--log-file" in refused.value.remedy


def test_how_a_run_ended_goes_to_the_file_and_not_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ledgerlink.log"
    logs.configure(log_file=path)
    logs.finished(3, LedgerlinkError("QuickBooks Online refused the token", remedy="Reconnect."))
    logs.reset()
    assert capsys.readouterr().err == ""
    tail = [line.split(" ", 1)[1] for line in _lines(path)]
    assert tail == [
        "ERROR ledgerlink.cli: QuickBooks Online refused the token — what to do: Reconnect.",
        "WARNING ledgerlink.cli: finished: exit 3 (systemic: auth, lock held, circuit breaker)",
    ]
