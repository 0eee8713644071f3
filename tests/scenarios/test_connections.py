"""Disconnect, reconnect and switching companies keep the books free of duplicates."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from ledgerlink.demo import scripted_browser
from ledgerlink.errors import AuthError, UserError
from ledgerlink.sandbox import FaultRule, Sandbox, demo_firm, qbo_seed
from tests.scenarios.conftest import Firm

OTHER_REALM = "4620816365171111111"
OTHER_COMPANY = "Hartwell & Osei LLP (New Books)"


def _browser_for(realm: str) -> Callable[[str], None]:
    """A consenting browser that picks ``realm`` on Intuit's company chooser."""
    return lambda url: scripted_browser(f"{url}&{urlencode({'realm_hint': realm})}")


def _second_company(box: Sandbox) -> None:
    emu = box.qbo
    emu.add_company(OTHER_REALM, OTHER_COMPANY)
    emu.set_preference(OTHER_REALM, "SalesFormsPrefs", "CustomTxnNumbers", True)
    income = emu.add(OTHER_REALM, "Account", {"Name": "Legal Fee Income", "AccountType": "Income"})
    for item in demo_firm.QBO_ITEMS:
        emu.add(
            OTHER_REALM,
            "Item",
            {"Name": item, "Type": "Service", "IncomeAccountRef": {"value": income["Id"]}},
        )
    qbo_seed.add_trust_accounts(emu, OTHER_REALM)


def test_disconnect_revokes_keeps_links_and_reconnecting_resumes_without_resending(firm: Firm) -> None:
    with firm.workspace() as workspace:
        workspace.sync_once()
        old_token = workspace.tokens.load("qbo")
        conn = workspace.disconnect("qbo")
        assert workspace.tokens.load("qbo") is None
        assert workspace.store.link_count(conn.id) > 100
    assert old_token is not None
    assert firm.sandbox.state.tokens.check("qbo", f"Bearer {old_token.access_token}") is None  # revoked

    stopped = firm.cli("sync", "--once")
    assert stopped.returncode == 3 and "ledgerlink connect qbo" in stopped.stderr

    invoices_before = len(firm.sandbox.qbo.records(demo_firm.QBO_REALM_ID, "Invoice"))
    with firm.workspace() as workspace:
        again = workspace.connect("qbo", open_url=scripted_browser)
        assert again.resumed > 100
        result = workspace.sync_once()
    assert result.tally.writes == 0
    assert len(firm.sandbox.qbo.records(demo_firm.QBO_REALM_ID, "Invoice")) == invoices_before


def test_switching_to_another_company_asks_first_then_retires_the_old_links(firm: Firm) -> None:
    _second_company(firm.sandbox)
    with firm.workspace() as workspace:
        workspace.sync_once()
        old = workspace.connection("qbo")
        with pytest.raises(UserError, match="stays with"):
            workspace.connect("qbo", open_url=_browser_for(OTHER_REALM), confirm=lambda question: False)
        assert workspace.connection("qbo").external_id == demo_firm.QBO_REALM_ID  # nothing changed

        asked: list[str] = []
        workspace.connect(
            "qbo", open_url=_browser_for(OTHER_REALM), confirm=lambda q: asked.append(q) or True
        )
        assert "retires those links" in asked[0] and demo_firm.QBO_COMPANY_NAME in asked[0]
        new = workspace.connection("qbo")
        result = workspace.sync_once()
        retired = next(c for c in workspace.store.connections() if c.id == old.id)
    assert new.external_id == OTHER_REALM and retired.retired_at is not None
    assert result.tally.get("invoice", "created") > 100  # the new company gets every bill, once
    assert len(firm.sandbox.qbo.records(OTHER_REALM, "Invoice")) == result.tally.get("invoice", "created")


def test_status_json_tells_when_qbo_consent_must_be_renewed(firm: Firm) -> None:
    with firm.workspace() as workspace:
        workspace.sync_once()
    shown = json.loads(firm.cli("status", "--json").stdout)
    assert {c["provider"] for c in shown["connections"] if c["active"]} == {"clio", "qbo"}
    qbo = next(c for c in shown["connections"] if c["provider"] == "qbo")
    assert qbo["reconsent_by"] and qbo["reconsent_rule"].startswith("100 days")
    assert qbo["access_token_expires_at"]


def test_revoked_consent_stops_the_pass_with_exit_3_and_no_error_spam(firm: Firm) -> None:
    with firm.workspace() as workspace:
        workspace.sync_once()
        errors_before = len(workspace.store.open_errors())
        tokens = workspace.tokens.load("qbo")
    assert tokens is not None
    firm.sandbox.state.tokens.revoke(tokens.refresh_token)
    firm.sandbox.state.tokens.expire_all_access_tokens()
    done = firm.cli("sync", "--once")
    assert done.returncode == 3, done.stderr
    assert "ledgerlink connect qbo" in done.stderr
    with firm.workspace() as workspace:
        assert len(workspace.store.open_errors()) == errors_before
        assert workspace.store.last_run().status == "failed"  # type: ignore[union-attr]


def test_after_a_purge_reconnecting_adopts_what_the_books_have_instead_of_duplicating(firm: Firm) -> None:
    with firm.workspace() as workspace:
        workspace.sync_once()
        purged = workspace.disconnect("qbo", purge=True)
        again = workspace.connect("qbo", open_url=scripted_browser)
        assert again.resumed == 0  # the retired links are history, not used
        result = workspace.sync_once()
        kept = workspace.store.link_count(purged.id)
    assert kept > 100
    assert result.tally.get("invoice", "created") == 0 and result.tally.get("contact", "created") == 0
    assert result.tally.get("invoice", "linked") > 100
    numbers = [inv["DocNumber"] for inv in firm.sandbox.qbo.records(demo_firm.QBO_REALM_ID, "Invoice")]
    names = [c["DisplayName"] for c in firm.sandbox.qbo.records(demo_firm.QBO_REALM_ID, "Customer")]
    assert len(numbers) == len(set(numbers)) and len(names) == len(set(names))


def test_tokens_refused_by_the_clio_region_say_which_setting_to_change(firm: Firm) -> None:
    firm.sandbox.state.faults.add(FaultRule("401", path=r"/clio/api/v4/users/who_am_i", times=-1))
    with firm.workspace() as workspace, pytest.raises(AuthError) as refused:
        workspace.use_clio_region("eu")
        workspace.connect("clio", open_url=scripted_browser)
    assert "EU region" in str(refused.value)
    assert "--region" in refused.value.remedy
