"""Panels other apps add to record pages: shown where they apply, each computed once."""

from __future__ import annotations

import pytest

from rapport.contacts import services
from rapport.contacts.models import Company
from rapport.core import panels


@pytest.fixture
def counted_panel(monkeypatch) -> list:
    calls: list = []
    monkeypatch.setattr(panels, "_PANELS", {})

    def context(request, record) -> dict:
        calls.append(record.pk)
        return {"greeting": "<b>hello</b>"}

    panels.register(
        panels.Panel(
            key="probe",
            title="Probe",
            template="contacts/_slot.html",
            context=lambda request, record: (
                context(request, record)
                | {"slot": {"key": "probe", "title": "Probe", "description": "<b>hello</b>"}}
            ),
            applies_to=lambda model: model is Company,
        )
    )
    return calls


@pytest.mark.django_db
def test_a_panel_shows_on_the_pages_it_applies_to_computed_once(
    alice_client, as_alice, counted_panel
):
    acme = services.company_create(actor=as_alice, values={"name": "Acme"})
    ada = services.contact_create(actor=as_alice, values={"first_name": "Ada"})

    company_page = alice_client.get(acme.get_absolute_url()).content.decode()
    contact_page = alice_client.get(ada.get_absolute_url()).content.decode()

    assert 'id="slot-probe"' in company_page
    assert "&lt;b&gt;hello&lt;/b&gt;" in company_page
    assert 'id="slot-probe"' not in contact_page
    assert counted_panel == [acme.pk]
