"""Connecting Xero: the organisation picker, and one accounting system per store."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ledgerlink.demo import scripted_browser
from ledgerlink.errors import UserError
from ledgerlink.providers.xero.connections import XeroTenant
from ledgerlink.sandbox import demo_firm
from tests.scenarios.conftest import Firm


def test_xero_consent_covering_two_organisations_needs_a_choice(firm: Firm) -> None:
    with firm.workspace() as workspace:
        with pytest.raises(UserError, match="several Xero organisations") as refused:
            workspace.connect("xero", open_url=scripted_browser, confirm=lambda q: True)
        assert "--tenant" in refused.value.remedy

        def pick_trust(tenants: Sequence[XeroTenant]) -> XeroTenant:
            return next(t for t in tenants if t.tenant_name == demo_firm.XERO_TRUST_ORG_NAME)

        connected = workspace.connect(
            "xero", open_url=scripted_browser, confirm=lambda q: True, choose_tenant=pick_trust
        )
        assert (connected.name, connected.external_id) == (
            demo_firm.XERO_TRUST_ORG_NAME,
            demo_firm.XERO_TRUST_ORG_TENANT_ID,
        )
        tokens = workspace.tokens.load("xero")
        assert tokens is not None and tokens.realm_id == demo_firm.XERO_TRUST_ORG_TENANT_ID
        # Only one accounting system per store: Xero replaced QuickBooks, whose tokens are gone.
        assert workspace.store.active_connection("qbo") is None
        assert workspace.tokens.load("qbo") is None


def test_a_store_connected_to_xero_explains_that_syncing_into_xero_is_not_there_yet(firm: Firm) -> None:
    with firm.workspace() as workspace:
        workspace.connect(
            "xero",
            open_url=scripted_browser,
            confirm=lambda q: True,
            choose_tenant=lambda tenants: tenants[0],
        )
    done = firm.cli("sync", "--once")
    assert done.returncode == 2
    assert "Xero" in done.stderr and "ledgerlink connect qbo" in done.stderr
    shown = firm.cli("status")
    assert "Xero" in shown.stdout and "60 days unused" in shown.stdout


def test_disconnecting_xero_revokes_the_grant(firm: Firm) -> None:
    with firm.workspace() as workspace:
        workspace.connect(
            "xero",
            open_url=scripted_browser,
            confirm=lambda q: True,
            choose_tenant=lambda tenants: tenants[0],
        )
        tokens = workspace.tokens.load("xero")
        workspace.disconnect("xero")
        assert workspace.tokens.load("xero") is None
    assert tokens is not None
    assert firm.sandbox.state.tokens.check("xero", f"Bearer {tokens.access_token}") is None
