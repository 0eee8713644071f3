"""The exit codes of every ledgerlink command (DESIGN.md §6), in the words `--help` and the logs use.

Cron and systemd judge a run by its exit code alone, so the codes are a contract: one table here,
shown by `ledgerlink --help`, written to the log file at the end of each run, and repeated in the
text `ledgerlink schedule` prints.
"""

from __future__ import annotations

CLEAN = 0
RECORD_ERRORS = 1
USAGE_OR_CONFIG = 2
SYSTEMIC = 3

EXIT_CODES: dict[int, str] = {
    CLEAN: "clean pass",
    RECORD_ERRORS: "pass finished with per-record errors (or differences found)",
    USAGE_OR_CONFIG: "usage or config error",
    SYSTEMIC: "systemic failure: auth, lock held, circuit breaker",
}

# The same, in the few words a comment line or a log line has room for.
SHORT: dict[int, str] = {
    CLEAN: "clean",
    RECORD_ERRORS: "record errors",
    USAGE_OR_CONFIG: "usage or config error",
    SYSTEMIC: "systemic: auth, lock held, circuit breaker",
}


def meaning(code: int) -> str:
    """A log line's few words for ``code``; codes outside the contract (130: interrupted) say so plainly."""
    if code == 130:
        return "interrupted"
    return SHORT.get(code, "unexpected exit code")


def help_epilog() -> str:
    """The exit-code table for the root `--help`, one line per code."""
    lines = "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())
    return (
        f"Exit codes:\n{lines}\n\n"
        "`ledgerlink schedule --cron` prints a crontab line that mails a pass's output only on a non-zero "
        "exit; `--systemd` units mark a non-zero exit as failed."
    )
