"""`ledgerlink schedule`: the crontab line, or systemd service and timer, that run one pass every few minutes.

It prints text to paste and installs nothing: where a schedule lives (a personal crontab,
/etc/cron.d, user or system units) is the operator's decision, and writing there needs rights a
sync tool should not ask for.

What the printed command holds, and why:

- the absolute path of the ledgerlink that is running (the installed script, or this interpreter
  with ``-m ledgerlink``), because cron and systemd run with a bare ``PATH``;
- the absolute config path in use, because a scheduled run has no ``LEDGERLINK_CONFIG`` and, without
  the ``XDG_*`` variables of a login session, may look for the default config elsewhere;
- ``--log-file`` (the one in use, else ``ledgerlink.log`` in ``Config.state_dir``), so each
  unattended pass leaves its lines behind;
- ``sync --once``: the schedule is the loop.

Cron mails whatever a job prints, and DESIGN.md §6 wants mail when a pass exits non-zero. So the
cron line keeps a pass's output and prints it only then: ``out=$(… 2>&1) || echo "$out"``.
systemd marks the unit failed instead and keeps the output in the journal. Neither needs ``flock``:
ledgerlink takes its own pass lock, and a run that finds a pass still going exits 3 (lock held)
without writing anything.
"""

from __future__ import annotations

import getpass
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from ledgerlink.cli import logs
from ledgerlink.cli.context import app_context
from ledgerlink.cli.exit_codes import SHORT
from ledgerlink.config import ENV_CONFIG, default_config_path, load_config
from ledgerlink.errors import UserError

app = typer.Typer()

# Cron counts minutes within the hour and hours within the day: `*/n` runs at even gaps only when
# n divides 60 (minutes) or 24 (hours); any other step leaves a short gap at the turn of the hour.
CRON_MINUTE_STEPS = tuple(n for n in range(1, 60) if 60 % n == 0)
CRON_HOUR_STEPS = tuple(n for n in range(1, 25) if 24 % n == 0)
BOOT_DELAY_MINUTES = 2  # the first pass after a boot, once the network is likely up
MAX_INTERVAL_MINUTES = 1440  # as sync.interval_minutes allows
UNIT = "ledgerlink-sync"
CRON_D_FILE = "/etc/cron.d/ledgerlink"
USER_UNIT_DIR = "~/.config/systemd/user"
SYSTEM_UNIT_DIR = "/etc/systemd/system"
LOG_FILE_NAME = "ledgerlink.log"
LEDGER_TITLE = "QuickBooks Online"
# Settings the printed command carries itself; other LEDGERLINK_* variables would be lost.
CARRIED_ENV = frozenset({ENV_CONFIG, logs.ENV_LOG_FILE})


@dataclass(frozen=True)
class ScheduledPass:
    """What a scheduled pass runs and as whom, resolved in the shell where `schedule` is run."""

    argv: tuple[str, ...]
    interval_minutes: int
    log_file: Path
    run_as: str
    secrets_backend: str
    unseen_env: tuple[str, ...] = ()  # LEDGERLINK_* variables set here that the schedule will not have


# ---------------------------------------------------------------------------------------------
# The command


def ledgerlink_program(
    argv0: str, executable: str, which: Callable[[str], str | None] = shutil.which
) -> tuple[str, ...]:
    """How to start this ledgerlink again: the installed script's absolute path, else ``python -m``.

    ``argv0`` is ``sys.argv[0]``: the script's path when started as ``ledgerlink``, something else
    (``__main__.py``, a test runner) otherwise. The interpreter's path is kept as given, not
    resolved: a virtualenv's ``python`` is a symlink whose target does not see the venv's packages.
    """
    if Path(argv0).name.removesuffix(".exe") == "ledgerlink":
        found = argv0 if os.sep in argv0 or "/" in argv0 else which(argv0)
        if found and Path(found).is_file():
            return (str(Path(found).resolve()),)
    return (os.path.abspath(executable), "-m", "ledgerlink")


def sync_argv(program: Sequence[str], config: Path, log_file: Path) -> tuple[str, ...]:
    return (*program, "--config", str(config), "--log-file", str(log_file), "sync", "--once")


def unseen_environment(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Names (never values) of LEDGERLINK_* settings in this shell that a scheduled run would lack."""
    return tuple(sorted(k for k in environ if k.startswith("LEDGERLINK_") and k not in CARRIED_ENV))


# ---------------------------------------------------------------------------------------------
# Cron


def cron_timing(minutes: int) -> str:
    """The five cron fields that start a job every ``minutes`` at even gaps; UserError if cron cannot."""
    if minutes in CRON_MINUTE_STEPS:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    hours, rest = divmod(minutes, 60)
    if rest == 0 and hours in CRON_HOUR_STEPS:
        if hours == 1:
            return "0 * * * *"
        return "0 0 * * *" if hours == 24 else f"0 */{hours} * * *"
    minute_steps = ", ".join(str(n) for n in CRON_MINUTE_STEPS)
    hour_steps = ", ".join(str(60 * n) for n in CRON_HOUR_STEPS)
    raise UserError(
        f"cron cannot start a pass every {minutes} minutes at even gaps: it counts minutes within the "
        "hour and hours within the day.",
        remedy=f"Choose --interval {minute_steps} or {hour_steps}, "
        "or use --systemd, which takes any interval.",
    )


def cron_word(arg: str) -> str:
    """One shell word for a crontab line: shell-quoted, and ``%`` escaped (cron turns it into a newline)."""
    return shlex.quote(arg).replace("%", "\\%")


def crontab_text(job: ScheduledPass, *, user: bool) -> str:
    """Comment lines saying what it is, then the one crontab line (a personal crontab or /etc/cron.d)."""
    command = " ".join(cron_word(a) for a in job.argv)
    where = (
        f"Add it with `crontab -e` as {job.run_as}."
        if user
        else f"Save it as {CRON_D_FILE} (owned by root, mode 0644); it runs as {job.run_as}."
    )
    who = "" if user else f"{job.run_as} "
    lines = [
        f"# ledgerlink: one sync pass every {_minutes(job.interval_minutes)}, Clio → {LEDGER_TITLE}.",
        f"# {where}",
        "# Cron mails what a job prints: this line prints ledgerlink's output only when a pass exits",
        f"# non-zero ({_failure_codes()}).",
        f"# Every pass also logs to {job.log_file}.",
        "# No flock needed: ledgerlink holds its own pass lock; a run that finds a pass still going",
        "# exits 3 (lock held) and writes nothing.",
        *_secrets_notes(job, where="a cron job"),
        f'{cron_timing(job.interval_minutes)} {who}out=$({command} 2>&1) || echo "$out"',
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# systemd

_SYSTEMD_PLAIN = re.compile(r"[A-Za-z0-9_@+=:,./-]+")


def systemd_word(arg: str) -> str:
    """One ExecStart= word: double-quoted when needed; ``%`` (specifiers) and ``$`` (variables) doubled."""
    text = arg
    if not _SYSTEMD_PLAIN.fullmatch(arg):
        text = '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text.replace("%", "%%").replace("$", "$$")


def systemd_units(job: ScheduledPass, *, user: bool) -> dict[str, str]:
    """The service and timer files by name: a oneshot pass and the timer that starts it."""
    systemctl = "systemctl --user" if user else "systemctl"
    journalctl = "journalctl --user" if user else "journalctl"
    service = [
        "[Unit]",
        f"Description=ledgerlink: one sync pass, Clio into {LEDGER_TITLE}",
    ]
    if not user:  # the user manager has no network-online.target to wait for
        service += ["Wants=network-online.target", "After=network-online.target"]
    service += [
        "",
        "[Service]",
        "Type=oneshot",
        *([] if user else [f"User={job.run_as}"]),
        "ExecStart=" + " ".join(systemd_word(a) for a in job.argv),
        f"# Any exit but 0 marks the unit failed ({_failure_codes()}):",
        f"# see `{systemctl} status {UNIT}` and `{journalctl} -u {UNIT}`.",
        f"# Every pass also logs to {job.log_file}.",
        "# No secrets in this file. No lock needed: ledgerlink holds its own pass lock.",
        *_secrets_notes(job, where="a service"),
    ]
    timer = [
        "[Unit]",
        f"Description=Start {UNIT}.service every {_minutes(job.interval_minutes)}",
        "",
        "[Timer]",
        f"OnBootSec={BOOT_DELAY_MINUTES}min",
        f"OnUnitActiveSec={job.interval_minutes}min",
        "# A pass soon after each boot catches up on time the machine was off (Persistent= would",
        "# not: it applies to OnCalendar= timers only).",
        "",
        "[Install]",
        "WantedBy=timers.target",
    ]
    return {f"{UNIT}.service": "\n".join(service) + "\n", f"{UNIT}.timer": "\n".join(timer) + "\n"}


def systemd_text(job: ScheduledPass, *, user: bool) -> str:
    """Both unit files under ``# --- file: … ---`` headers, then how to switch the timer on."""
    folder = USER_UNIT_DIR if user else SYSTEM_UNIT_DIR
    systemctl = "systemctl --user" if user else "sudo systemctl"
    parts = [
        f"# --- file: {folder}/{name} ---\n{text}" for name, text in systemd_units(job, user=user).items()
    ]
    closing = [f"# Then: {systemctl} daemon-reload && {systemctl} enable --now {UNIT}.timer"]
    if user:
        closing.append(
            f"# User timers run only while {job.run_as} is logged in, unless: "
            f"loginctl enable-linger {job.run_as}"
        )
    return "\n".join(parts) + "\n" + "\n".join(closing) + "\n"


# ---------------------------------------------------------------------------------------------
# Words shared by both


def _minutes(n: int) -> str:
    return "minute" if n == 1 else f"{n} minutes"


def _failure_codes() -> str:
    return ", ".join(f"{code} {SHORT[code]}" for code in (1, 2, 3))


def _secrets_notes(job: ScheduledPass, *, where: str) -> list[str]:
    notes: list[str] = []
    if job.secrets_backend == "keyring":
        notes += [
            f'# secrets.backend is "keyring", which {where} usually cannot open: for unattended passes set',
            '# secrets.backend = "file" (a 0600 token file) or "env" (LEDGERLINK_<PROVIDER>_* variables).',
        ]
    else:
        notes.append(
            f'# Tokens come from secrets.backend = "{job.secrets_backend}", which needs no desktop session.'
        )
    if job.unseen_env:
        notes += [
            f"# This shell sets {', '.join(job.unseen_env)}; {where} will not see them: put the settings in",
            "# the config file (secrets in a file only the account running the pass can read).",
        ]
    return notes


def current_user() -> str:
    """The account this runs as (the schedule runs the pass as the same account, where its tokens are)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # pragma: no cover - Windows, or a uid without a passwd entry
        return getpass.getuser()


@app.command("schedule")
def schedule(
    ctx: typer.Context,
    cron: Annotated[bool, typer.Option("--cron", help="Print a crontab line.")] = False,
    systemd: Annotated[bool, typer.Option("--systemd", help="Print a systemd service and timer.")] = False,
    interval: Annotated[
        int | None,
        typer.Option(
            "--interval",
            min=1,
            max=MAX_INTERVAL_MINUTES,
            metavar="MINUTES",
            help="Minutes between passes (default: sync.interval_minutes of the config, 5).",
        ),
    ] = None,
    user: Annotated[
        bool,
        typer.Option(
            "--user",
            help="For your personal crontab or systemd user units (default: /etc/cron.d or "
            "/etc/systemd/system, running as you).",
        ),
    ] = False,
) -> None:
    """Print a crontab line or systemd units that run `ledgerlink sync --once` every few minutes.

    Nothing is installed: paste the text where it says. Cron mails whatever a job prints, so the
    cron line prints ledgerlink's output only when a pass exits non-zero (1 record errors, 2 usage
    or config, 3 systemic: auth, lock held, circuit breaker); systemd marks the unit failed instead.
    Exit 0, or 2 when the config is missing or invalid or cron cannot keep the interval.
    """
    if cron == systemd:
        raise UserError("Say which scheduler to print for.", remedy="Pass --cron or --systemd.")
    context = app_context(ctx)
    config_path = (context.config_path or default_config_path()).expanduser().resolve()
    config = load_config(config_path)
    log_file = logs.log_file() or config.state_dir / LOG_FILE_NAME
    job = ScheduledPass(
        argv=sync_argv(ledgerlink_program(sys.argv[0], sys.executable), config_path, log_file),
        interval_minutes=interval or config.sync.interval_minutes,
        log_file=log_file,
        run_as=current_user(),
        secrets_backend=config.secrets.backend,
        unseen_env=unseen_environment(os.environ),
    )
    typer.echo(crontab_text(job, user=user) if cron else systemd_text(job, user=user), nl=False)
