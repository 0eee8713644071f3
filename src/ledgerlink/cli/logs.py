"""Where ledgerlink's log lines go, and what they look like: the `-v`, `-q` and `--log-file` switches.

One line format everywhere (stderr and file)::

    2026-12-04T18:03:11Z INFO ledgerlink.sync: message

in UTC with a ``Z`` so that lines from cron, systemd and a person's terminal sort together whatever
the server's time zone.

- stderr: warnings and errors by default; everything with ``-v`` (DEBUG, third-party libraries too);
  errors only with ``-q``. When stderr is not a terminal (cron, systemd, a pipe) the structured
  ``ledgerlink.events`` lines (:func:`event`) go there as well: they are the plain progress lines of
  an unattended run, where a terminal shows tables instead.
- ``--log-file PATH`` (``LEDGERLINK_LOG_FILE``): ledgerlink's own loggers at INFO (DEBUG with ``-v``)
  and other libraries' warnings, rotated at :data:`LOG_FILE_MAX_BYTES` keeping :data:`LOG_FILE_BACKUPS`
  old files. Every file it creates is 0600: a log names clients and amounts.

Tokens never reach either: every handler carries :class:`ledgerlink.http.RedactingFilter` and the
formatter redacts the finished line once more, which also covers tracebacks.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from io import TextIOWrapper
from logging.handlers import RotatingFileHandler
from pathlib import Path

from ledgerlink.cli.exit_codes import meaning
from ledgerlink.errors import LedgerlinkError, UserError
from ledgerlink.http import RedactingFilter, install_log_redaction, redact

ENV_LOG_FILE = "LEDGERLINK_LOG_FILE"
LOG_FILE_MAX_BYTES = 5 * 1024 * 1024  # one file of a busy firm's INFO lines is a few weeks
LOG_FILE_BACKUPS = 5  # ledgerlink.log.1 … ledgerlink.log.5, the oldest dropped
LOG_FILE_MODE = 0o600
LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
ROOT = "ledgerlink"
EVENTS = "ledgerlink.events"

log = logging.getLogger("ledgerlink.cli")

_installed: list[logging.Handler] = []
_quiet = False
_log_file: Path | None = None


class LineFormatter(logging.Formatter):
    """``2026-12-04T18:03:11Z INFO ledgerlink.sync: message``, redacted as a whole line."""

    def __init__(self) -> None:
        super().__init__(LINE_FORMAT, TIME_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime(datefmt or TIME_FORMAT, time.gmtime(record.created))

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A RotatingFileHandler whose files (the first and each one after a rollover) are created 0600."""

    def _open(self) -> TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, LOG_FILE_MODE)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the moment of logging (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class _ConsoleThreshold(logging.Filter):
    """What reaches stderr: records at ``level`` and up, plus event lines when nobody watches a terminal.

    A record logged with ``extra={"console": False}`` is for the file only (the CLI has already
    printed it to the person in its own words).
    """

    def __init__(self, level: int, *, events: bool) -> None:
        super().__init__()
        self.level = level
        self.events = events

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "console", True):
            return False
        if record.levelno >= self.level:
            return True
        return self.events and record.name == EVENTS and record.levelno >= logging.INFO


class _FileThreshold(logging.Filter):
    """What reaches the file: ledgerlink's own records at ``level`` and up, other libraries' warnings."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name == ROOT or record.name.startswith(ROOT + ".")
        return record.levelno >= (self.level if own else logging.WARNING)


def console_level(*, verbose: bool, quiet: bool) -> int:
    """The lowest level stderr shows: DEBUG with -v, ERROR with -q, WARNING otherwise."""
    if verbose:
        return logging.DEBUG
    return logging.ERROR if quiet else logging.WARNING


def configure(
    verbose: bool = False,
    quiet: bool = False,
    log_file: Path | None = None,
    *,
    max_bytes: int = LOG_FILE_MAX_BYTES,
    backups: int = LOG_FILE_BACKUPS,
) -> None:
    """Route ledgerlink's logging for this run; calling it again replaces what it set up before.

    Raises UserError (exit 2) when -v and -q are both given or the log file cannot be opened.
    """
    global _quiet, _log_file
    if verbose and quiet:
        raise UserError("-v/--verbose and -q/--quiet contradict each other.", remedy="Give one of them.")
    reset()
    log_file = Path(os.path.abspath(log_file.expanduser())) if log_file is not None else None
    handlers: list[logging.Handler] = []
    console = _CurrentStderr(sys.stderr)
    console.addFilter(
        _ConsoleThreshold(
            console_level(verbose=verbose, quiet=quiet), events=not quiet and not _is_terminal(sys.stderr)
        )
    )
    handlers.append(console)
    if log_file is not None:
        handlers.append(_open_log_file(log_file, verbose=verbose, max_bytes=max_bytes, backups=backups))
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(LineFormatter())
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    _installed.extend(handlers)
    # Third-party libraries speak only from WARNING unless -v; ledgerlink's INFO lines are always
    # made so that the file and the event lines can have them — the handlers decide who shows them.
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger(ROOT).setLevel(logging.DEBUG if verbose else logging.INFO)
    install_log_redaction()
    _quiet = quiet
    _log_file = log_file


def _open_log_file(path: Path, *, verbose: bool, max_bytes: int, backups: int) -> logging.Handler:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = PrivateRotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    except OSError as exc:
        raise UserError(
            f"cannot write the log file {path}: {exc.strerror or exc}",
            remedy=f"Pass a writable path with --log-file (or {ENV_LOG_FILE}), or leave it out.",
        ) from None
    handler.addFilter(_FileThreshold(logging.DEBUG if verbose else logging.INFO))
    return handler


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def reset() -> None:
    """Remove and close the handlers :func:`configure` installed (a second configure; tests)."""
    global _quiet, _log_file
    root = logging.getLogger()
    while _installed:
        handler = _installed.pop()
        root.removeHandler(handler)
        handler.close()
    _quiet = False
    _log_file = None


def quiet() -> bool:
    """True when the run was started with -q: commands leave out "note:" chatter, keep results and errors."""
    return _quiet


def log_file() -> Path | None:
    """The absolute path of the log file this run writes, if any."""
    return _log_file


def event_line(name: str, fields: dict[str, object]) -> str:
    """``event=<name> key=value …``: one line a program can split; values with spaces are quoted."""
    parts = [f"event={_value(name)}"]
    parts.extend(f"{key}={_value(value)}" for key, value in fields.items())
    return " ".join(parts)


def _value(value: object) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = ""
    else:
        text = str(value)
    if text and not any(ch.isspace() or ch in '"=\\' for ch in text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def event(name: str, **fields: object) -> None:
    """Log one structured line at INFO on ``ledgerlink.events`` (the per-pass lines of unattended runs)."""
    logging.getLogger(EVENTS).info("%s", event_line(name, fields))


def finished(code: int, error: LedgerlinkError | None = None) -> None:
    """Write how the run ended to the log file: the exit code, its meaning and the error, if any.

    The person at the terminal has already read the error from the CLI, so these lines are kept
    off stderr.
    """
    if not _installed:
        return  # logging was never set up (--help, --version, a usage error): nothing to close
    if error is not None:
        log.error("%s — what to do: %s", error, error.remedy, extra={"console": False})
    level = logging.INFO if code == 0 else logging.WARNING
    log.log(level, "finished: exit %s (%s)", code, meaning(code), extra={"console": False})
