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
        assert f"[{section_name}]" in text, section_name
        model = section.annotation
        for key in model.model_fields:  # type: ignore[union-attr]
            assert re.search(rf"^#? ?{key} =|^\[{section_name}\.{key}\]", text, re.M), f"{section_name}.{key}"
