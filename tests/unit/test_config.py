"""Config errors name the file, the key path and what was expected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledgerlink.config import load_config, parse_config
from ledgerlink.errors import ConfigError

EXAMPLE = Path(__file__).parents[2] / "examples" / "config.toml"


def test_the_documented_example_is_a_valid_config() -> None:
    config = load_config(EXAMPLE)
    assert config.mapping.time_entries == "Legal Services"
    assert config.sync.bill_states == ("awaiting_payment", "paid")


def test_missing_file_names_the_path_and_points_to_the_example(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.toml")
    assert "nope.toml" in str(caught.value) and "examples/config.toml" in caught.value.remedy
    assert caught.value.exit_code == 2


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML: .*line 2"):
        parse_config("[sync]\ninterval_minutes = = 3\n", tmp_path / "bad.toml")


def test_wrong_value_names_the_key_path_and_the_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[sync]\ninterval_minutes = "often"\n', tmp_path / "c.toml")
    assert "key `sync.interval_minutes`" in str(caught.value) and "'often'" in str(caught.value)


def test_unknown_key_is_refused_not_ignored(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"key `mapping.time_entry`: no such key"):
        parse_config('[mapping]\ntime_entry = "Legal"\n', tmp_path / "c.toml")


def test_region_must_be_one_of_the_four(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"key `clio.region`"):
        parse_config('[clio]\nregion = "uk"\n', tmp_path / "c.toml")


def test_client_secret_may_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGERLINK_QBO_CLIENT_SECRET", "from-env")
    assert parse_config("", tmp_path / "c.toml").qbo.client_secret == "from-env"


def test_the_example_documents_every_key_of_every_section() -> None:
    from ledgerlink.config import Config

    text = EXAMPLE.read_text()
    for section_name, section in Config.model_fields.items():
        if section_name == "source":
            continue
        section_name = section.alias or section_name  # [import] is `imports` in Python
        model = section.annotation
        if not isinstance(model, type):  # a top-level key (target), not a section
            assert re.search(rf"^{section_name} =", text, re.M), section_name
            continue
        assert f"[{section_name}]" in text, section_name
        for key in model.model_fields:  # type: ignore[union-attr]
            assert re.search(rf"^#? ?{key} =|^\[\[?{section_name}\.{key}\]", text, re.M), (
                f"{section_name}.{key}"
            )


def test_the_example_documents_every_key_of_the_import_and_payroll_sections() -> None:
    from ledgerlink.config import HardCostImportConfig

    text = EXAMPLE.read_text()
    hard_costs = text.partition("[import.hard_costs]")[2].partition("[payroll]")[0]
    for key in HardCostImportConfig.model_fields:
        assert re.search(rf"^{key} =", hard_costs, re.M), key
    config = load_config(EXAMPLE)
    assert config.imports.hard_costs.qbo_account == "Reimbursable Expenses"
    assert not config.imports.hard_costs.enabled and not config.payroll.enabled


def test_the_example_documents_every_key_of_a_trust_account() -> None:
    from ledgerlink.config import TrustAccountConfig

    text = EXAMPLE.read_text().split("[[trust.accounts]]", 1)[1]
    for key in TrustAccountConfig.model_fields:
        assert re.search(rf"^{key} =", text, re.M), f"trust.accounts[].{key}"


def _trust_entry(name: str) -> str:
    return (
        f'[[trust.accounts]]\nclio_account = "{name}"\nqbo_bank_account = "Trust"\n'
        'qbo_liability_account = "Trust Liability"\n'
    )


def test_up_to_fifteen_trust_accounts_and_no_more(tmp_path: Path) -> None:
    fifteen = "".join(_trust_entry(f"Trust {n}") for n in range(15))
    assert len(parse_config(fifteen, tmp_path / "c.toml").trust.accounts) == 15
    with pytest.raises(ConfigError) as caught:
        parse_config(fifteen + _trust_entry("Trust 15"), tmp_path / "c.toml")
    assert "trust.accounts" in str(caught.value)


def test_a_trust_account_listed_twice_or_unnamed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as twice:
        parse_config(_trust_entry("IOLTA") + _trust_entry("iolta"), tmp_path / "c.toml")
    assert "listed twice" in str(twice.value)
    with pytest.raises(ConfigError) as blank:
        parse_config(_trust_entry(" "), tmp_path / "c.toml")
    assert "clio_account" in str(blank.value)


def test_trust_account_defaults_follow_seed_000(tmp_path: Path) -> None:
    entry = parse_config(_trust_entry("IOLTA"), tmp_path / "c.toml").trust.accounts[0]
    assert entry.start_date is None  # the day of the first pass
    assert entry.include_disbursements and entry.include_trust_payments
    assert not entry.opening_balances


def _xero(body: str) -> str:
    return 'target = "xero"\n' + body


def test_a_xero_target_refuses_quickbooks_trust_accounts_and_says_why(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_xero(_trust_entry("IOLTA")), tmp_path / "c.toml")
    assert "Xero cannot receive trust" in str(caught.value) and "IOLTA" in str(caught.value)
    assert "report trust" in caught.value.remedy and caught.value.exit_code == 2
    # Naming only the Clio account (for `report trust`) is fine with Xero, not with QuickBooks.
    clio_only = '[[trust.accounts]]\nclio_account = "IOLTA"\n'
    assert parse_config(_xero(clio_only), tmp_path / "c.toml").trust.accounts[0].clio_account == "IOLTA"
    with pytest.raises(ConfigError, match="qbo_bank_account"):
        parse_config(clio_only, tmp_path / "c.toml")


def test_a_xero_target_refuses_the_quickbooks_only_features(tmp_path: Path) -> None:
    for section in ("[import.hard_costs]", "[payroll]"):
        with pytest.raises(ConfigError) as caught:
            parse_config(_xero(f"{section}\nenabled = true\n"), tmp_path / "c.toml")
        assert section in str(caught.value) and "QuickBooks Online only" in str(caught.value)


def test_xero_defaults_append_clio_ids_and_leave_hard_costs_off(tmp_path: Path) -> None:
    config = parse_config(_xero(""), tmp_path / "c.toml")
    assert config.target == "xero" and config.xero.append_contact_id
    assert not config.xero.hard_costs.enabled
    assert load_config(EXAMPLE).target == "qbo"
