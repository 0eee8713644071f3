"""POST /contacts.json through the real client: Clio creates a Person or Company and is strict about names."""

from __future__ import annotations

import pytest

from ledgerlink.domain import Address, Contact
from ledgerlink.errors import ValidationError
from ledgerlink.providers.clio import ClioClient
from ledgerlink.providers.clio.source import ClioSource
from ledgerlink.sandbox import Sandbox
from tests.conftest import StaticToken


def test_a_person_and_a_company_are_created_as_clio_holds_them(
    sandbox: Sandbox, clio_token: StaticToken
) -> None:
    with ClioClient.connect(sandbox.urls.clio_api, clio_token) as client:
        source = ClioSource(client)
        person = source.create_contact(
            Contact("", "Nadia Okafor", False, "Nadia", "Okafor", "nadia@okafor.example", "555-0100",
                    Address(street="1 Main St", city="Springfield", province="IL"))
        )  # fmt: skip
        company = source.create_contact(Contact("", "Brightwater Trust", True))

    assert person == Contact(
        person.source_id, "Nadia Okafor", False, "Nadia", "Okafor", "nadia@okafor.example", "555-0100",
        Address(street="1 Main St", city="Springfield", province="IL"), person.updated_at,
    )  # fmt: skip
    assert (company.name, company.is_company) == ("Brightwater Trust", True)
    assert sandbox.state.writes_received()[-2:] == [("POST", "/clio/api/v4/contacts.json")] * 2


def test_a_person_without_first_or_last_name_is_refused(sandbox: Sandbox, clio_token: StaticToken) -> None:
    with (
        ClioClient.connect(sandbox.urls.clio_api, clio_token) as client,
        pytest.raises(ValidationError) as refused,
    ):
        client.create_contact({"type": "Person", "name": "Cher"})
    assert refused.value.status == 422
    assert "first name or last name" in str(refused.value.detail)
