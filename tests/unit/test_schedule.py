"""`ledgerlink schedule`: crontab lines cron can keep, units systemd accepts, commands that survive quoting.

No cron parser is installed, so :func:`cron_times` below is a strict reading of the five fields
(crontab(5): numbers, ranges, steps, lists; nothing else) that expands a line into the minutes of
the day it fires at. systemd units are checked by `systemd-analyze verify` where it exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ledgerlink.cli import schedule
from ledgerlink.cli.schedule import (
    CRON_HOUR_STEPS,
    CRON_MINUTE_STEPS,
    ScheduledPass,
    cron_timing,
    crontab_text,
    ledgerlink_program,
    sync_argv,
    systemd_text,
    systemd_units,
    systemd_word,
    unseen_environment,
)
from ledgerlink.errors import UserError

# -- a strict reading of crontab(5) ----------------------------------------------------------

CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("weekday", 0, 7),
)
_PART = re.compile(r"(?:(\*)|(\d+)(?:-(\d+))?)(?:/(\d+))?")


def cron_field(text: str, low: int, high: int) -> set[int]:
    """The values one field matches; ValueError for anything crontab(5) does not allow."""
    values: set[int] = set()
    for part in text.split(","):
        match = _PART.fullmatch(part)
        if not match:
            raise ValueError(f"not a cron field part: {part!r}")
        star, first, last, step = match.groups()
        start, stop = (low, high) if star else (int(first), int(last or first))
        if step is not None and not star and last is None:
            raise ValueError(f"a step needs a range or *: {part!r}")
        every = int(step) if step is not None else 1
        if not (low <= start <= stop <= high) or every < 1:
            raise ValueError(f"out of range {low}-{high}: {part!r}")
        values.update(range(start, stop + 1, every))
    return values


def cron_times(timing: str) -> list[int]:
    """Minutes of the day (0-1439) a five-field schedule fires at, every day of the year."""
    fields = timing.split(" ")
    if len(fields) != 5:
        raise ValueError(f"a crontab schedule has 5 fields, not {len(fields)}: {timing!r}")
    minutes, hours, *calendar = (
        cron_field(f, lo, hi) for f, (_n, lo, hi) in zip(fields, CRON_FIELDS, strict=True)
    )
    for values, (name, low, high) in zip(calendar, CRON_FIELDS[2:], strict=True):
        assert values == set(range(low, high + 1)), f"{name} must be every day: {timing!r}"
    return sorted(h * 60 + m for h in hours for m in minutes)


def gaps(times: list[int]) -> set[int]:
    """The gaps between consecutive starts, the one across midnight included."""
    return {b - a for a, b in zip(times, [*times[1:], times[0] + 1440], strict=True)}


def test_the_strict_cron_reading_refuses_what_cron_refuses() -> None:
    for bad in ("*/0 * * * *", "60 * * * *", "5/10 * * * *", "* * * *", "*/5 * * * * *", "a * * * *", "1-"):
        with pytest.raises(ValueError):
            cron_times(bad)
    assert cron_times("*/20 */12 * * *") == [0, 20, 40, 720, 740, 760]


# -- timing ----------------------------------------------------------------------------------


def test_every_interval_cron_can_keep_starts_at_even_gaps_of_that_interval() -> None:
    kept = [n for n in range(1, 1441) if _cron_keeps(n)]
    assert kept == [*CRON_MINUTE_STEPS, *(60 * h for h in CRON_HOUR_STEPS)]
    for minutes in kept:
        assert gaps(cron_times(cron_timing(minutes))) == {minutes}, minutes


def _cron_keeps(minutes: int) -> bool:
    try:
        cron_timing(minutes)
    except UserError:
        return False
    return True


def test_the_default_five_minutes_is_the_familiar_cron_step() -> None:
    assert cron_timing(5) == "*/5 * * * *"
    assert cron_timing(60) == "0 * * * *"
    assert cron_timing(1440) == "0 0 * * *"


@pytest.mark.parametrize("minutes", [7, 45, 90, 300, 1439])
def test_an_interval_cron_cannot_keep_is_refused_naming_it_and_the_way_out(minutes: int) -> None:
    with pytest.raises(UserError) as refused:
        cron_timing(minutes)
    assert refused.value.exit_code == 2
    assert f"every {minutes} minutes" in str(refused.value)
    assert "--systemd" in refused.value.remedy and "30" in refused.value.remedy


# -- the command -----------------------------------------------------------------------------


def test_the_installed_script_is_run_by_its_absolute_path(tmp_path: Path) -> None:
    script = tmp_path / "bin" / "ledgerlink"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    assert ledgerlink_program(str(script), "/usr/bin/python3") == (str(script.resolve()),)
    found_on_path = ledgerlink_program("ledgerlink", "/usr/bin/python3", which=lambda _name: str(script))
    assert found_on_path == (str(script.resolve()),)


def test_without_an_installed_script_the_interpreter_runs_the_module(tmp_path: Path) -> None:
    python = tmp_path / "venv" / "bin" / "python"
    main = "/src/ledgerlink/__main__.py"
    assert ledgerlink_program(main, str(python)) == (str(python), "-m", "ledgerlink")
    # A name alone that is not on PATH cannot be run by cron either.
    assert ledgerlink_program("ledgerlink", str(python), which=lambda _name: None)[1:] == ("-m", "ledgerlink")


def test_the_scheduled_command_is_one_pass_with_config_and_log_file() -> None:
    argv = sync_argv(("/opt/ll/bin/ledgerlink",), Path("/etc/ll/config.toml"), Path("/var/ll/ledgerlink.log"))
    assert argv == (
        "/opt/ll/bin/ledgerlink",
        "--config",
        "/etc/ll/config.toml",
        "--log-file",
        "/var/ll/ledgerlink.log",
        "sync",
        "--once",
    )


def test_only_the_names_of_settings_a_schedule_would_lose_are_reported() -> None:
    environ = {
        "LEDGERLINK_CONFIG": "/x.toml",
        "LEDGERLINK_LOG_FILE": "/x.log",
        "LEDGERLINK_QBO_REFRESH_TOKEN": "AB11-secret-value",
        "LEDGERLINK_STORE_URL": "postgresql://u:pw@db/ll",
        "HOME": "/root",
    }
    assert unseen_environment(environ) == ("LEDGERLINK_QBO_REFRESH_TOKEN", "LEDGERLINK_STORE_URL")


# -- cron text -------------------------------------------------------------------------------

# A stand-in for ledgerlink that prints the arguments it was given and exits with $EXIT.
ECHO_ARGS = "import json, os, sys; print(json.dumps(sys.argv[1:])); sys.exit(int(os.environ['EXIT']))"


def _job(tmp_path: Path, *, program: tuple[str, ...] | None = None, **kw: object) -> ScheduledPass:
    config = tmp_path / "Whitfield & Ames 100%" / "config.toml"
    log_file = tmp_path / "state dir" / "ledgerlink.log"
    fields: dict[str, object] = {
        "argv": sync_argv(program or (sys.executable, "-m", "ledgerlink"), config, log_file),
        "interval_minutes": 5,
        "log_file": log_file,
        "run_as": "ledgerlink",
        "secrets_backend": "file",
        **kw,
    }
    return ScheduledPass(**fields)  # type: ignore[arg-type]


def _cron_line(text: str) -> tuple[str, str]:
    """The one non-comment line, split into its five timing fields and the command as cron runs it."""
    lines = [line for line in text.splitlines() if line.strip()]
    jobs = [line for line in lines if not line.startswith("#")]
    assert len(jobs) == 1 and lines[-1] == jobs[0]
    fields = jobs[0].split(" ", 5)
    # cron turns an unescaped % into a newline and drops the backslash of an escaped one (crontab(5)).
    assert not re.search(r"(?<!\\)%", fields[5])
    return " ".join(fields[:5]), fields[5].replace("\\%", "%")


def test_a_crontab_line_is_commented_then_one_valid_line_every_five_minutes(tmp_path: Path) -> None:
    text = crontab_text(_job(tmp_path), user=True)
    timing, command = _cron_line(text)
    assert gaps(cron_times(timing)) == {5}
    comments = text.splitlines()[:-1]
    assert comments and all(line.startswith("#") for line in comments)
    assert "crontab -e" in text and "flock" in text and "lock" in text
    assert command.startswith("out=$(") and command.endswith('2>&1) || echo "$out"')


def test_a_system_crontab_line_names_the_account_it_runs_as(tmp_path: Path) -> None:
    text = crontab_text(_job(tmp_path), user=False)
    assert "/etc/cron.d/ledgerlink" in text
    line = text.splitlines()[-1]
    assert line.split(" ")[5] == "ledgerlink"


@pytest.mark.parametrize(("exit_code", "prints"), [(0, False), (1, True), (3, True)])
def test_the_cron_command_hands_over_every_argument_and_speaks_only_on_failure(
    tmp_path: Path, exit_code: int, prints: bool
) -> None:
    job = _job(tmp_path, program=(sys.executable, "-c", ECHO_ARGS))
    _timing, command = _cron_line(crontab_text(job, user=True))
    ran = subprocess.run(
        ["/bin/sh", "-c", command],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "EXIT": str(exit_code)},  # cron's bare environment
        timeout=60,
    )
    if prints:
        assert json.loads(ran.stdout) == list(job.argv[3:])
    else:
        assert ran.stdout == ""
    assert ran.stderr == ""


def test_keyring_and_lost_settings_are_named_in_the_text(tmp_path: Path) -> None:
    job = _job(tmp_path, secrets_backend="keyring", unseen_env=("LEDGERLINK_STORE_URL",))
    for text in (crontab_text(job, user=True), systemd_text(job, user=True)):
        assert 'secrets.backend = "file"' in text and "LEDGERLINK_STORE_URL" in text


# -- systemd ---------------------------------------------------------------------------------


def test_systemd_words_are_quoted_and_escaped_only_when_needed() -> None:
    assert systemd_word("/opt/ledgerlink/bin/ledgerlink") == "/opt/ledgerlink/bin/ledgerlink"
    assert systemd_word("--once") == "--once"
    assert systemd_word("/srv/Whitfield & Ames/config.toml") == '"/srv/Whitfield & Ames/config.toml"'
    assert systemd_word("/srv/100%/c.toml") == '"/srv/100%%/c.toml"'
    assert systemd_word("/srv/$HOME/c.toml") == '"/srv/$$HOME/c.toml"'
    assert systemd_word('/srv/"q"\\/c.toml') == '"/srv/\\"q\\"\\\\/c.toml"'


def test_the_service_is_a_oneshot_pass_and_the_timer_repeats_it(tmp_path: Path) -> None:
    job = _job(tmp_path, interval_minutes=15)
    units = systemd_units(job, user=True)
    service, timer = units["ledgerlink-sync.service"], units["ledgerlink-sync.timer"]
    assert "Type=oneshot" in service.splitlines()
    exec_start = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    assert exec_start.endswith(" sync --once") and '"' + str(job.log_file) + '"' in exec_start
    assert "User=" not in service  # user units run as their user
    assert {"OnBootSec=2min", "OnUnitActiveSec=15min", "WantedBy=timers.target"} <= set(timer.splitlines())
    system = systemd_units(job, user=False)["ledgerlink-sync.service"]
    assert "User=ledgerlink" in system.splitlines()


def test_systemd_text_has_file_headers_and_the_enable_line(tmp_path: Path) -> None:
    text = systemd_text(_job(tmp_path), user=True)
    assert "# --- file: ~/.config/systemd/user/ledgerlink-sync.service ---" in text.splitlines()
    assert "# --- file: ~/.config/systemd/user/ledgerlink-sync.timer ---" in text.splitlines()
    assert "systemctl --user enable --now ledgerlink-sync.timer" in text
    system = systemd_text(_job(tmp_path), user=False)
    assert "# --- file: /etc/systemd/system/ledgerlink-sync.timer ---" in system.splitlines()
    assert "sudo systemctl enable --now ledgerlink-sync.timer" in system


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("user", [True, False])
def test_systemd_analyze_verifies_both_units(tmp_path: Path, user: bool) -> None:
    # ExecStart= must name a program that exists, so the job runs this interpreter with -m ledgerlink.
    job = _job(
        tmp_path, run_as=schedule.current_user(), secrets_backend="keyring", unseen_env=("LEDGERLINK_X",)
    )
    paths = []
    for name, text in systemd_units(job, user=user).items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    # Verified as system units: `verify --user` needs a running user manager, which a CI box lacks;
    # the unit syntax is the same. verify reports bad keys and values as warnings with exit 0, so
    # any line about our units fails the test.
    checked = subprocess.run(
        ["systemd-analyze", "verify", *paths],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
    )
    complaints = [line for line in checked.stderr.splitlines() if "ledgerlink-sync" in line]
    assert checked.returncode == 0 and not complaints, checked.stderr
