"""`ledgerlink import customers`: QuickBooks customers proposed, reviewed, applied into Clio — never twice.

The firm's QBO file holds a married couple, a company written differently in Clio, a client whose
Clio contact has another e-mail, a courier that is a QBO *vendor* and whose Clio contact must not
become the customer's, an inactive customer and two customers Clio lacks.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ledgerlink.cli import imports, links
from ledgerlink.cli.context import AppContext
from ledgerlink.domain import Contact
from ledgerlink.errors import TransportError
from ledgerlink.sandbox import Sandbox
from ledgerlink.sync.customer_import import apply_proposal, read_proposal
from ledgerlink.sync.flows.customer_import import INTENT_KIND, KIND, MATTER_CHOICE_KIND
from tests.scenarios.small_firm import REALM, SmallFirm, build_small_firm

runner = CliRunner()


def cli_app() -> typer.Typer:
    """The two command groups under a root like ledgerlink's (until the lead registers them there)."""
    root = typer.Typer()

    @root.callback()
    def _root(ctx: typer.Context, config: Path = typer.Option(..., "--config")) -> None:
        ctx.obj = AppContext(config_path=config)

    root.add_typer(imports.app, name="import")
    root.add_typer(links.app, name="links")
    return root


def run(firm: SmallFirm, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli_app(), ["--config", str(firm.config_path), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


@pytest.fixture
def firm(empty_sandbox: Sandbox, tmp_path: Path) -> Iterator[SmallFirm]:
    firm = build_small_firm(empty_sandbox, tmp_path)
    clio, qbo = empty_sandbox.clio, empty_sandbox.qbo
    ids = {}
    for key, fields in {
        "john": {"type": "Person", "first_name": "John", "last_name": "Smith", "email": "smiths@example.com"},
        "dana": {
            "type": "Person",
            "first_name": "Dana",
            "last_name": "Whitfield",
            "email": "dana@home.example",
        },
        "acme": {"type": "Company", "name": "ACME Inc", "email": None},
        "hartley": {"type": "Company", "name": "Hartley Couriers", "email": "desk@hartley.example"},
    }.items():
        email = fields.pop("email")
        emails = [{"name": "Work", "address": email, "primary": True}] if email else []
        ids[key] = str(clio.add_contact(**fields, email_addresses=emails)["id"])
    qbo.add_vendor(REALM, "Hartley Couriers")
    for body in (
        {"DisplayName": "John & Jane Smith", "PrimaryEmailAddr": {"Address": "smiths@example.com"}},
        {"DisplayName": "Acme, Inc.", "CompanyName": "Acme, Inc."},
        {"DisplayName": "Dana Whitfield", "GivenName": "Dana", "FamilyName": "Whitfield",
         "PrimaryEmailAddr": {"Address": "dana@work.example"}},
        {"DisplayName": "Hartley Couriers Ltd", "CompanyName": "Hartley Couriers Ltd"},
        {"DisplayName": "Nadia Okafor", "GivenName": "Nadia", "FamilyName": "Okafor",
         "PrimaryEmailAddr": {"Address": "nadia@okafor.example"}},
        {"DisplayName": "Brightwater Trust", "CompanyName": "Brightwater Trust"},
        {"DisplayName": "Old Client", "GivenName": "Old", "FamilyName": "Client", "Active": False},
    ):  # fmt: skip
        qbo.add(REALM, "Customer", body)
    firm.ids = ids  # type: ignore[attr-defined]
    firm.sync()  # a first pass: the cursors the two-way contact sync reads changes from
    yield firm


def qbo_id(firm: SmallFirm, name: str) -> str:
    return next(str(c["Id"]) for c in firm.qbo("Customer") if c["DisplayName"].startswith(name))


def clio_contacts(firm: SmallFirm) -> dict[str, dict[str, Any]]:
    return {str(c["id"]): c for c in firm.sandbox.clio.records("contact")}


def edit_file(path: Path, decisions: dict[str, tuple[str, str]]) -> None:
    """The bookkeeper's review: the action (and clio_id) of rows, by QBO name."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["qbo_name"] in decisions:
            row["action"], row["clio_id"] = decisions[row["qbo_name"]]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_dry_run_lists_every_customer_and_writes_nothing(firm: SmallFirm) -> None:
    writes = len(firm.sandbox.state.writes_received())
    with firm.workspace() as workspace:
        links_before = workspace.store.link_count(workspace.connection("qbo").id)

    code, out = run(firm, "import", "customers", "--dry-run", "--json")

    proposal = {row["qbo_name"]: row for row in json.loads(out)}
    ids = firm.ids  # type: ignore[attr-defined]
    assert {name: (row["action"], row["clio_id"]) for name, row in proposal.items()} == {
        "John & Jane Smith": ("link", ids["john"]),
        "Acme, Inc.": ("link", ids["acme"]),
        "Dana Whitfield": ("ask", None),
        "Hartley Couriers Ltd": ("ask", None),
        "Nadia Okafor": ("create", None),
        "Brightwater Trust": ("create", None),
        "Old Client": ("skip", None),
    }
    assert [c["clio_id"] for c in proposal["Dana Whitfield"]["candidates"]] == [ids["dana"]]
    assert "QuickBooks vendor" in proposal["Hartley Couriers Ltd"]["reason"]
    assert proposal["Old Client"]["reason"] == "inactive in QuickBooks: not imported"
    assert code == 1  # something to do
    assert len(firm.sandbox.state.writes_received()) == writes
    assert not (Path.cwd() / imports.DEFAULT_FILE).exists()
    with firm.workspace() as workspace:
        assert workspace.store.link_count(workspace.connection("qbo").id) == links_before


def test_reviewed_proposal_applies_once_and_a_rerun_proposes_nothing(firm: SmallFirm, tmp_path: Path) -> None:
    ids = firm.ids  # type: ignore[attr-defined]
    proposal = tmp_path / "review.csv"
    code, out = run(firm, "import", "customers", "--out", str(proposal))
    assert code == 1 and "Proposal written to" in out
    assert proposal.stat().st_mode & 0o077 == 0  # clients' names and e-mails: the user's eyes only
    edit_file(proposal, {"Dana Whitfield": ("link", ids["dana"]), "Hartley Couriers Ltd": ("skip", "")})

    code, out = run(firm, "import", "customers", "--apply", str(proposal))

    assert code == 0, out
    contacts = clio_contacts(firm)
    created = {c["name"]: c for c in contacts.values() if c["id"] not in map(int, ids.values())}
    assert {name: c["type"] for name, c in created.items()} == {
        "Nadia Okafor": "Person",
        "Brightwater Trust": "Company",
    }
    assert created["Nadia Okafor"]["primary_email_address"] == "nadia@okafor.example"
    with firm.workspace() as workspace:
        stored = workspace.store.links(workspace.connection("qbo").id, KIND)
    assert {link.target_id: source for source, link in stored.items()} == {
        qbo_id(firm, "John & Jane Smith"): ids["john"],
        qbo_id(firm, "Acme, Inc."): ids["acme"],
        qbo_id(firm, "Dana Whitfield"): ids["dana"],
        qbo_id(firm, "Nadia Okafor"): str(created["Nadia Okafor"]["id"]),
        qbo_id(firm, "Brightwater Trust"): str(created["Brightwater Trust"]["id"]),
    }
    writes = len(firm.sandbox.state.writes_received())

    code, out = run(firm, "import", "customers", "--apply", str(proposal), "--json")  # the same file again
    assert code == 0
    assert {a["outcome"] for a in json.loads(out)} == {"unchanged"}
    code, out = run(firm, "import", "customers", "--dry-run", "--json")
    assert code == 0
    rerun = {r["qbo_name"]: (r["action"], r["reason"]) for r in json.loads(out)}
    assert rerun["Hartley Couriers Ltd"] == ("skip", "skipped by you in an earlier import")
    assert rerun["Old Client"] == ("skip", "inactive in QuickBooks: not imported")
    assert {action for action, _ in rerun.values()} == {"linked", "skip"}
    assert len(firm.sandbox.state.writes_received()) == writes
    assert len(clio_contacts(firm)) == len(contacts)


def test_imported_contact_edited_in_quickbooks_reaches_clio_on_the_next_sync(
    firm: SmallFirm, tmp_path: Path
) -> None:
    proposal = tmp_path / "review.csv"
    run(firm, "import", "customers", "--out", str(proposal))
    edit_file(proposal, {"Dana Whitfield": ("skip", ""), "Hartley Couriers Ltd": ("skip", "")})
    assert run(firm, "import", "customers", "--apply", str(proposal))[0] == 0
    nadia = qbo_id(firm, "Nadia Okafor")
    firm.sandbox.qbo.edit(REALM, "Customer", nadia, PrimaryPhone={"FreeFormNumber": "555-0142"})

    result = firm.sync()

    assert result.exit_code == 0
    (contact,) = [c for c in clio_contacts(firm).values() if c["name"] == "Nadia Okafor"]
    assert contact["primary_phone_number"] == "555-0142"


class CrashAfterCreate:
    """Clio as it is, but the process dies right after Clio created the contact (before the link)."""

    def __init__(self, clio: Any) -> None:
        self._clio = clio

    def changed_contacts(self, since: Any) -> list[Contact]:
        return list(self._clio.changed_contacts(since))

    def create_contact(self, contact: Contact) -> Contact:
        self._clio.create_contact(contact)
        raise TransportError("the connection dropped before Clio's answer arrived")


def test_a_contact_created_before_a_crash_is_linked_not_created_again(
    firm: SmallFirm, tmp_path: Path
) -> None:
    proposal = tmp_path / "review.csv"
    run(firm, "import", "customers", "--out", str(proposal))
    edit_file(
        proposal,
        {name: ("skip", "") for name in ("Dana Whitfield", "Hartley Couriers Ltd", "Brightwater Trust")},
    )
    reviewed = read_proposal(proposal)
    with firm.workspace() as workspace, workspace.both_sides() as (clio, ledger, conn):
        first = apply_proposal(CrashAfterCreate(clio), ledger, workspace.store, conn.id, reviewed)
        assert [a.outcome for a in first if a.row.qbo_name == "Nadia Okafor"] == ["failed"]
        (left,) = [i for i in workspace.store.open_intents(conn.id) if i.kind == INTENT_KIND]
        assert left.state == "uncertain"

        again = apply_proposal(clio, ledger, workspace.store, conn.id, reviewed)

        assert [a.outcome for a in again if a.row.qbo_name == "Nadia Okafor"] == ["linked"]
        assert workspace.store.intent(left.key).state == "done"  # type: ignore[union-attr]
        nadias = [c for c in clio_contacts(firm).values() if c["name"] == "Nadia Okafor"]
        assert len(nadias) == 1
        assert workspace.store.links(conn.id, KIND)[str(nadias[0]["id"])].target_id == qbo_id(firm, "Nadia")


# -- links show / set ---------------------------------------------------------------------------

LEDGERLINK_WITH_LINKS = """
import sys
from ledgerlink import cli
from ledgerlink.cli import imports, links
names = {group.name for group in cli.app.registered_groups}
if "links" not in names:
    cli.app.add_typer(links.app, name="links")
if "import" not in names:
    cli.app.add_typer(imports.app, name="import")
cli.main(sys.argv[1:])
"""


def ledgerlink(firm: SmallFirm, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `ledgerlink` entry point (exit codes, error lines) in a child process, links registered."""
    return subprocess.run(
        [sys.executable, "-c", LEDGERLINK_WITH_LINKS, "--config", str(firm.config_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_links_show_names_the_customer_and_its_invoices(firm: SmallFirm) -> None:
    sam = firm.client("Sam", "Reyes", "sam@reyes.example")
    firm.bill(sam)
    assert firm.sync().exit_code == 0
    customer = qbo_id(firm, "Sam Reyes")

    code, out = run(firm, "links", "show", str(sam), "--json")

    assert code == 0
    assert json.loads(out) == {
        "clio_id": str(sam),
        "linked": True,
        "ledger": "qbo",
        "ledger_id": customer,
        "ledger_name": "Sam Reyes",
        "linked_invoices": 1,
    }
    shown = ledgerlink(firm, "links", "show", str(sam))
    assert shown.returncode == 0, shown.stderr
    assert f"Clio contact {sam} → QuickBooks Online customer {customer} “Sam Reyes”; 1 linked invoice(s)" in (
        shown.stdout
    )
    missing = ledgerlink(firm, "links", "show", "424242")
    assert (missing.returncode, missing.stdout.strip()) == (
        1,
        "Clio contact 424242: not linked to QuickBooks Online.",
    )


def test_links_set_matter_stores_the_choice_and_refuses_another_clients_matter(firm: SmallFirm) -> None:
    sam = firm.client("Sam", "Reyes", "sam@reyes.example")
    firm.bill(sam)
    firm.sync()
    second = firm.sandbox.clio.add_matter(
        client=sam, number=9, display_number="00009-Reyes", description="Lease", open_date=date(2026, 2, 1)
    )
    other = firm.client("Ola", "Berg")
    customer = qbo_id(firm, "Sam Reyes")

    code, out = run(firm, "links", "set", "matter", "Sam Reyes", "00009-Reyes")

    assert code == 0, out
    with firm.workspace() as workspace:
        choices = workspace.store.links(workspace.connection("qbo").id, MATTER_CHOICE_KIND)
    assert {s: link.target_id for s, link in choices.items()} == {customer: str(second["id"])}
    refused = ledgerlink(firm, "links", "set", "matter", customer, str(firm.matters[other]))
    assert refused.returncode == 2
    assert "has no matter" in refused.stderr
    unknown = ledgerlink(firm, "links", "set", "matter", "Nobody Here", "00009-Reyes")
    assert unknown.returncode == 2
    assert "QuickBooks has no customer" in unknown.stderr
