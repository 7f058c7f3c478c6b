"""vCards: a contact as vCard 4.0 (service, page, API, the list's export job), and the
import of vCard 3.0 and 4.0 files (service, upload page, API), matched by email, each
card reported; bad files and refused users get a clear answer and nothing written."""

from __future__ import annotations

import datetime

import pytest
import vobject
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from rapport.accounts.models import Role, User
from rapport.contacts import services as contacts
from rapport.contacts.models import Company, Contact
from rapport.core.actors import Actor
from rapport.core.models import AuditEntry, Job, JobStatus, Source
from rapport.exchange import vcard
from rapport.exchange.vcard import Outcome, contacts_to_vcards, vcards_import

pytestmark = pytest.mark.django_db

CRLF = "\r\n"
VCARD_3 = CRLF.join(
    [
        "BEGIN:VCARD",
        "VERSION:3.0",
        "N:Doe;John;Quincy;Dr.;Jr.",
        "FN:Dr. John Quincy Doe Jr.",
        "ORG:Globex\\, Inc.;Sales",
        "TITLE:Head of sales",
        "EMAIL;TYPE=INTERNET,HOME:john@home.example",
        "EMAIL;TYPE=INTERNET,WORK,pref:John.Doe@Globex.example",
        "TEL;TYPE=CELL:+1 212 555 0100",
        "TEL;TYPE=WORK,VOICE:(212) 555-0199",
        "ADR;TYPE=WORK:;;1 Main St;New York;NY;10001;USA",
        "BDAY:1970-01-31",
        "URL:www.linkedin.com/in/johndoe",
        "NOTE:Met at the fair",
        "END:VCARD",
        "",
    ]
)
VCARD_4 = CRLF.join(
    [
        "BEGIN:VCARD",
        "VERSION:4.0",
        "FN:Zoë Çelik",
        "N:Çelik;Zoë;;;",
        'TEL;VALUE=uri;TYPE="voice,home";PREF=1:tel:+49-30-1234567',
        "EMAIL;PREF=1:zoe@example.de",
        "LANG:de",
        "TZ:Europe/Berlin",
        "END:VCARD",
        "",
    ]
)


def actor_for(user: User) -> Actor:
    return Actor(user=user, source=Source.UI)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = settings.STORAGES | {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    }


@pytest.fixture
def acme(as_alice) -> Company:
    return contacts.company_create(actor=as_alice, values={"name": "Acme GmbH"})


@pytest.fixture
def ann(as_alice, acme) -> Contact:
    """Alice's contact, with a bit of everything a card holds."""
    return contacts.contact_create(
        actor=as_alice,
        values={
            "prefix": "Dr.",
            "first_name": "Ann",
            "middle_name": "B.",
            "last_name": "Müller, Jr",
            "job_title": "Buyer; purchasing",
            "company": acme,
            "birthday": datetime.date(1985, 2, 28),
            "language": "de",
            "timezone": "Europe/Berlin",
        },
        emails=[
            {"email": "ann@home.example", "kind": "personal"},
            {"email": "ann@acme.example", "kind": "work", "is_primary": True},
        ],
        phones=[
            {"number": "+49 30 1234567", "kind": "work"},
            {"number": "+49 171 1234567", "kind": "mobile", "is_primary": True},
        ],
        addresses=[
            {"kind": "office", "street": "Unter den Linden 1", "city": "Berlin", "country": "DE"}
        ],
        social_profiles=[{"url": "https://www.linkedin.com/in/ann"}],
    )


@pytest.fixture
def ben(bob) -> Contact:
    """Bob's contact: alice, his teammate, sees it but may neither edit nor export it."""
    return contacts.contact_create(
        actor=actor_for(bob), values={"first_name": "Ben", "email": "ben@example.com"}
    )


@pytest.fixture
def cid(charlie) -> Contact:
    """Charlie's contact, in the west team: alice may not see it."""
    return contacts.contact_create(
        actor=actor_for(charlie), values={"first_name": "Cid", "email": "cid@example.com"}
    )


@pytest.fixture
def as_importer(east) -> Actor:
    """Someone who may import and sees the east team's contacts, editing only their own."""
    role = Role.objects.create(
        slug="importer",
        name="Importer",
        permissions={
            "*": {"view": "team", "create": "all", "edit": "own", "import": "all", "export": "own"}
        },
    )
    user = User.objects.create_user(
        username="ida", email="ida@example.com", password="x" * 12, role=role
    )
    user.teams.set([east])
    return actor_for(user)


def parsed(text: str) -> list[vobject.base.Component]:
    return list(vobject.readComponents(text))


def values(card: vobject.base.Component, name: str) -> list[tuple[object, dict]]:
    return [(line.value, line.params) for line in card.contents.get(name, [])]


# Out


def test_a_contact_becomes_a_vcard_4(ann):
    text = contacts_to_vcards(vcard.vcard_queryset(Contact.objects.filter(pk=ann.pk)))

    assert text.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n")
    assert "\n" not in text.replace("\r\n", "")
    [card] = parsed(text)
    assert card.fn.value == "Dr. Ann B. Müller, Jr"
    assert vars(card.n.value) == {
        "family": "Müller, Jr",
        "given": "Ann",
        "additional": "B.",
        "prefix": "Dr.",
        "suffix": "",
    }
    assert values(card, "email") == [
        ("ann@acme.example", {"PREF": ["1"], "TYPE": ["work"]}),
        ("ann@home.example", {"TYPE": ["home"]}),
    ]
    assert values(card, "tel") == [
        ("tel:+491711234567", {"VALUE": ["uri"], "PREF": ["1"], "TYPE": ["cell"]}),
        ("tel:+49301234567", {"VALUE": ["uri"], "TYPE": ["work,voice"]}),
    ]
    [(address, params)] = values(card, "adr")
    assert (address.street, address.city, address.country, params) == (
        "Unter den Linden 1",
        "Berlin",
        "Germany",
        {"TYPE": ["work"]},
    )
    assert card.org.value == ["Acme GmbH"]
    assert card.title.value == "Buyer; purchasing"
    assert card.bday.value == "19850228"
    assert card.url.value == "https://www.linkedin.com/in/ann"
    assert (card.lang.value, card.tz.value) == ("de", "Europe/Berlin")
    assert card.uid.value.startswith("urn:uuid:")
    assert card.uid.value == vcard.contact_uid(Contact.objects.get(pk=ann.pk))


# In


def test_a_file_of_vcard_3_and_4_cards_creates_contacts(as_admin):
    report = vcards_import(VCARD_3 + VCARD_4, actor=as_admin)

    assert [(card.name, card.outcome) for card in report.cards] == [
        ("Dr. John Quincy Doe Jr.", Outcome.CREATED),
        ("Zoë Çelik", Outcome.CREATED),
    ]
    john = Contact.objects.get(pk=report.cards[0].contact_id)
    assert (john.prefix, john.first_name, john.middle_name, john.last_name, john.suffix) == (
        "Dr.",
        "John",
        "Quincy",
        "Doe",
        "Jr.",
    )
    # The preferred address is the primary one, lower-cased as the services keep emails.
    assert john.email == "john.doe@globex.example"
    assert [(row.email, row.kind) for row in john.emails.order_by("id")] == [
        ("john.doe@globex.example", "work"),
        ("john@home.example", "personal"),
    ]
    assert sorted((row.number, row.kind) for row in john.phones.all()) == [
        ("+12125550100", "mobile"),
        ("+12125550199", "work"),
    ]
    [address] = john.addresses.all()
    assert (address.kind, address.street, address.city, address.region, address.country) == (
        "office",
        "1 Main St",
        "New York",
        "NY",
        "US",
    )
    assert (john.company.name, john.job_title, john.birthday) == (
        "Globex, Inc.",
        "Head of sales",
        datetime.date(1970, 1, 31),
    )
    assert [row.network for row in john.social_profiles.all()] == ["linkedin"]
    assert john.source == "import"
    zoe = Contact.objects.get(pk=report.cards[1].contact_id)
    assert (zoe.phone, zoe.language, zoe.timezone) == ("+49301234567", "de", "Europe/Berlin")
    assert AuditEntry.objects.filter(object_id=str(zoe.pk), source=as_admin.source).exists()


def test_importing_the_same_file_twice_creates_nothing_new(as_admin):
    vcards_import(VCARD_3 + VCARD_4, actor=as_admin)
    counts = (Contact.objects.count(), Company.objects.count(), AuditEntry.objects.count())

    report = vcards_import(VCARD_3 + VCARD_4, actor=as_admin)

    assert [card.outcome for card in report.cards] == [Outcome.UNCHANGED, Outcome.UNCHANGED]
    assert (Contact.objects.count(), Company.objects.count(), AuditEntry.objects.count()) == counts


def test_an_exported_card_imports_as_the_same_contact(as_admin, ann):
    text = contacts_to_vcards(vcard.vcard_queryset(Contact.objects.filter(pk=ann.pk)))
    contacts.contact_delete(ann, actor=as_admin)

    report = vcards_import(text, actor=as_admin)

    [card] = report.cards
    assert card.outcome == Outcome.CREATED
    copy = Contact.objects.get(pk=card.contact_id)
    fields = ("prefix", "first_name", "middle_name", "last_name", "job_title", "birthday")
    fields += ("language", "timezone", "email", "phone", "company_id")
    assert [getattr(copy, name) for name in fields] == [getattr(ann, name) for name in fields]
    assert sorted(copy.emails.values_list("email", "kind", "is_primary")) == sorted(
        ann.emails.values_list("email", "kind", "is_primary")
    )
    assert sorted(copy.phones.values_list("number", "kind", "is_primary")) == sorted(
        ann.phones.values_list("number", "kind", "is_primary")
    )
    assert list(copy.addresses.values_list("kind", "street", "city", "country")) == list(
        ann.addresses.values_list("kind", "street", "city", "country")
    )


def test_a_card_with_a_known_email_updates_that_contact(as_admin, ann):
    card = CRLF.join(
        [
            "BEGIN:VCARD",
            "VERSION:4.0",
            "FN:Ann Müller",
            "N:Müller;Ann;;;",
            "TITLE:Head of purchasing",
            "EMAIL:ANN@acme.example",
            "EMAIL;TYPE=work:ann.mueller@acme.example",
            "TEL;TYPE=cell:+49 171 1234567",
            "ORG:Acme GmbH",
            "END:VCARD",
        ]
    )

    report = vcards_import(card, actor=as_admin)

    assert [(result.outcome, result.contact_id) for result in report.cards] == [
        (Outcome.UPDATED, ann.pk)
    ]
    ann.refresh_from_db()
    assert (ann.job_title, ann.last_name, ann.middle_name, ann.company.name) == (
        "Head of purchasing",
        "Müller",
        "B.",
        "Acme GmbH",
    )
    # What the card lacks stays; what it adds is added; the primary email stays.
    assert ann.email == "ann@acme.example"
    assert sorted(ann.emails.values_list("email", flat=True)) == [
        "ann.mueller@acme.example",
        "ann@acme.example",
        "ann@home.example",
    ]
    assert ann.phones.count() == 2
    assert Company.objects.count() == 1
    entry = AuditEntry.objects.filter(object_id=str(ann.pk)).latest("id")
    assert (entry.source, entry.action) == (Source.UI, "update")


def test_each_card_gets_its_result_and_bad_values_are_left_out_with_a_note(as_admin):
    no_name = CRLF.join(["BEGIN:VCARD", "VERSION:3.0", "TEL:+1 212 555 0100", "END:VCARD"])
    unreadable = CRLF.join(["BEGIN:VCARD", "VERSION:4.0", "FN Broken line", "END:VCARD"])
    bad_values = CRLF.join(
        [
            "BEGIN:VCARD",
            "VERSION:4.0",
            "FN:Bea Bad",
            "EMAIL:not an address",
            "EMAIL:bea@example.com",
            "TEL:12",
            "ADR:;;Main St 1;Springfield;;;Atlantis",
            "BDAY:--0228",
            "TZ:-05:00",
            "URL:javascript:alert(1)",
            "END:VCARD",
        ]
    )

    report = vcards_import(no_name + CRLF + unreadable + CRLF + bad_values, actor=as_admin)

    no_name_result, unreadable_result, bad_result = report.cards
    assert (no_name_result.outcome, no_name_result.reason) == (
        Outcome.FAILED,
        "The card has no name (FN or N).",
    )
    assert unreadable_result.outcome == Outcome.FAILED
    assert unreadable_result.reason.startswith("The card cannot be read")
    assert bad_result.outcome == Outcome.CREATED
    assert len(bad_result.notes) == 6
    assert "Left out not an address: Enter a valid email address." in bad_result.notes
    assert any("Left out 12:" in note for note in bad_result.notes)
    assert "Left out the country Atlantis: not one known." in bad_result.notes
    assert "Left out the birthday --0228: not a full date." in bad_result.notes
    bea = Contact.objects.get(pk=bad_result.contact_id)
    assert (bea.first_name, bea.last_name, bea.email, bea.phone) == (
        "Bea",
        "Bad",
        "bea@example.com",
        "",
    )
    assert list(bea.addresses.values_list("street", "city", "country")) == [
        ("Main St 1", "Springfield", "")
    ]
    assert (report.created, report.failed) == (1, 2)


def test_a_card_the_services_refuse_fails_alone_and_its_company_is_not_made(as_admin):
    too_long = CRLF.join(
        ["BEGIN:VCARD", "VERSION:4.0", "FN:" + "x" * 300, "ORG:Initech", "END:VCARD"]
    )

    report = vcards_import(too_long + CRLF + VCARD_4, actor=as_admin)

    assert [card.outcome for card in report.cards] == [Outcome.FAILED, Outcome.CREATED]
    assert "first_name" in report.cards[0].reason
    assert not Company.objects.filter(name="Initech").exists()


def test_a_latin_1_file_is_read_in_its_encoding():
    assert "FN:Zoë Çelik" in vcard.vcard_text(VCARD_4.encode("latin-1"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,email\nAnn,ann@example.com\n", "The file holds no vCard"),
        ("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "The file holds no vCard"),
        (VCARD_4 * (vcard.MAX_CARDS + 1), "The file holds 501 cards; import at most 500"),
    ],
)
def test_a_file_that_is_not_vcards_is_refused_whole(as_admin, text, message):
    with pytest.raises(ValidationError, match=message):
        vcards_import(text, actor=as_admin)

    assert not Contact.objects.exists()


def test_a_file_too_large_is_refused():
    with pytest.raises(ValidationError, match="too large"):
        vcard.vcard_text(b"x" * (vcard.MAX_BYTES + 1))


def test_a_role_without_import_may_not_import(as_alice):
    with pytest.raises(PermissionDenied):
        vcards_import(VCARD_4, actor=as_alice)

    assert not Contact.objects.exists()


def test_only_contacts_the_importer_may_see_are_matched_and_changed(as_importer, ben, cid):
    card = CRLF.join(["BEGIN:VCARD", "VERSION:4.0", "FN:{name}", "EMAIL:{email}", "END:VCARD"])
    text = card.format(name="Ben B.", email=ben.email) + CRLF
    text += card.format(name="Cid C.", email=cid.email)

    report = vcards_import(text, actor=as_importer)

    refused, created = report.cards
    # Ben is a teammate's contact: seen, so matched, but not the importer's to change.
    assert refused.outcome == Outcome.FAILED
    assert refused.reason == "Ben has this email address, and you may not change them."
    # Cid is another team's: to the importer it does not exist, so a new contact is made.
    assert created.outcome == Outcome.CREATED
    assert created.contact_id != cid.pk
    ben.refresh_from_db()
    assert ben.last_name == ""


# Pages


def test_the_contact_page_offers_the_vcard_of_a_contact_one_may_export(alice, ann, ben):
    client = client_for(alice)

    assert "Download vCard" in client.get(f"/contacts/{ann.pk}/").content.decode()
    assert "Download vCard" not in client.get(f"/contacts/{ben.pk}/").content.decode()


def test_the_vcard_download(alice, ann, ben, cid, django_assert_max_num_queries):
    client = client_for(alice)

    with django_assert_max_num_queries(12):
        response = client.get(f"/contacts/{ann.pk}/vcard/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="dr-ann-b-muller-jr.vcf"'
    assert parsed(response.content.decode())[0].fn.value == "Dr. Ann B. Müller, Jr"
    assert client.get(f"/contacts/{ben.pk}/vcard/").status_code == 403
    assert client.get(f"/contacts/{cid.pk}/vcard/").status_code == 404


def test_the_upload_page_imports_and_reports_each_card(admin, alice):
    client = client_for(admin)
    upload = SimpleUploadedFile("people.vcf", (VCARD_3 + VCARD_4).encode(), "text/vcard")

    assert "Import vCards" in client.get("/contacts/").content.decode()
    response = client.post("/contacts/import/vcards/", {"file": upload})

    html = response.content.decode()
    assert response.status_code == 200
    assert "people.vcf: 2 created, 0 updated, 0 unchanged, 0 failed." in html
    assert "Dr. John Quincy Doe Jr." in html
    assert Contact.objects.count() == 2
    assert "Import vCards" not in client_for(alice).get("/contacts/").content.decode()
    assert client_for(alice).get("/contacts/import/vcards/").status_code == 403


def test_the_upload_page_explains_a_file_it_cannot_take(admin, settings):
    client = client_for(admin)
    csv_file = SimpleUploadedFile("people.csv", b"name,email\nAnn,ann@example.com\n", "text/csv")
    big = SimpleUploadedFile("big.vcf", b"x" * (vcard.MAX_BYTES + 1), "text/vcard")

    refused_csv = client.post("/contacts/import/vcards/", {"file": csv_file}).content.decode()
    refused_big = client.post("/contacts/import/vcards/", {"file": big}).content.decode()

    assert "The file holds no vCard" in refused_csv
    assert "The file is too large (2.0\xa0MB); the limit is 2.0\xa0MB." in refused_big
    assert not Contact.objects.exists()


def test_the_list_exports_the_selected_contacts_as_vcards(
    alice, ann, ben, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/contacts/bulk/",
            {"action": "export_vcard", "scope": "filtered", "query": ""},
        )

    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.result_file.name.endswith(".vcf")
    with job.result_file.open("rb") as handle:
        cards = parsed(handle.read().decode())
    # Ben is a teammate's contact: seen in the list, but not alice's to export.
    assert [card.fn.value for card in cards] == ["Dr. Ann B. Müller, Jr"]
    assert job.message == "1 contact exported as vCards."


# API


def test_the_api_serves_a_contact_vcard(alice, ann, ben, cid, django_assert_max_num_queries):
    client = client_for(alice)

    with django_assert_max_num_queries(12):
        response = client.get(f"/api/v1/contacts/{ann.pk}/vcard")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    assert parsed(response.content.decode())[0].email.value == "ann@acme.example"
    assert client.get(f"/api/v1/contacts/{ben.pk}/vcard").status_code == 403
    missing = client.get(f"/api/v1/contacts/{cid.pk}/vcard")
    assert (missing.status_code, missing["Content-Type"]) == (404, "application/problem+json")


def test_the_api_imports_a_vcard_body_or_a_multipart_file(admin):
    client = client_for(admin)

    as_body = client.post(
        "/api/v1/contacts/vcards", VCARD_3, content_type="text/vcard; charset=utf-8"
    )
    as_file = client.post(
        "/api/v1/contacts/vcards",
        {"file": SimpleUploadedFile("zoe.vcf", VCARD_4.encode(), "text/vcard")},
    )

    assert as_body.status_code == 200, as_body.content
    assert as_body.json() == {
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
        "cards": [
            {
                "position": 1,
                "name": "Dr. John Quincy Doe Jr.",
                "outcome": "created",
                "reason": "",
                "contact_id": Contact.objects.get(first_name="John").pk,
                "notes": [],
            }
        ],
    }
    assert as_file.status_code == 200, as_file.content
    assert as_file.json()["cards"][0]["outcome"] == "created"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "detail"),
    [
        ("name,email\nAnn,a@b.c\n", "text/vcard", 422, "The file holds no vCard"),
        ("BEGIN:VCARD", "application/json", 415, "Send the vCard file as text/vcard"),
        ("x" * (2 * 1024 * 1024 + 1), "text/vcard", 413, "The file is too large"),
    ],
)
def test_the_api_refuses_what_is_not_a_vcard_file(admin, body, content_type, status, detail):
    response = client_for(admin).post("/api/v1/contacts/vcards", body, content_type=content_type)

    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert detail in response.content.decode()
    assert not Contact.objects.exists()


def test_the_api_import_needs_the_import_permission(alice):
    response = client_for(alice).post("/api/v1/contacts/vcards", VCARD_4, content_type="text/vcard")

    assert response.status_code == 403
    assert not Contact.objects.exists()
