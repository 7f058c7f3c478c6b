"""One record of every kind that has pages, for tests generated over all of them
(IDOR attempts, stored XSS)."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.accounts.models import ApiToken, User
from rapport.activities import services as activities
from rapport.attachments import services as attachments
from rapport.conftest import make_user
from rapport.contacts import services as contacts
from rapport.core import savedviews
from rapport.core.actors import Actor
from rapport.core.models import Job, Source
from rapport.exchange.imports import import_upload
from rapport.exchange.models import ImportMapping
from rapport.mail import services as mail
from rapport.mail.models import Mailbox, OutgoingEmail
from rapport.notifications.services import notify
from rapport.sales import leads, orders, quotes
from rapport.sales import services as sales
from rapport.sales.deals import Participant, deal_create
from rapport.tasks import services as tasks


def one_of_each(user: User, admin: User) -> dict[str, Any]:
    """A record of every kind that has pages, owned by ``user`` in ``user``'s team (a
    colleague who is admin of that team keeps its products and imports)."""
    owner = Actor(user=user, source=Source.UI)
    as_admin = Actor(user=admin, source=Source.UI)
    # Dora, an admin of the same team, keeps its catalogue and imports.
    dora = make_user("dora@example.com", role_slug="admin", teams=list(user.teams.all()))
    as_dora = Actor(user=dora, source=Source.UI)
    company = contacts.company_create(actor=owner, values={"name": "Westwind"})
    contact = contacts.contact_create(
        actor=owner,
        values={"first_name": "Wes", "last_name": "West", "email": "wes@westwind.example"},
    )
    trashed = contacts.contact_delete(
        contacts.contact_create(actor=owner, values={"first_name": "Gone"}), actor=owner
    )
    static_list = contacts.list_create(actor=owner, name="West list")
    contacts.list_add(static_list, actor=owner, contacts=[contact])
    product = sales.product_create(actor=as_dora, values={"sku": "W-1", "name": "West widget"})
    deal = deal_create(
        actor=owner,
        values={"name": "West deal", "company": company},
        contacts=[Participant(contact)],
        line_items=[{"name": "Service", "quantity": 1, "unit_price": "80"}],
    )
    email_activity = mail.email_send(actor=owner, contact=contact, subject="Hi", body="Hello")
    uploaded = attachments.attachment_upload(
        actor=owner,
        record=contact,
        file=SimpleUploadedFile("offer.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf"),
    )
    meeting = activities.activity_create(
        actor=owner,
        kind="meeting",
        links=[contact],
        values={
            "subject": "Visit",
            "starts_at": "2030-01-01T10:00Z",
            "ends_at": "2030-01-01T11:00Z",
        },
    )
    import_run = import_upload(
        actor=as_dora,
        object_type="contacts",
        upload=SimpleUploadedFile("people.csv", b"email\nx@example.com\n"),
        file_name="people.csv",
    )
    return {
        "company": company,
        "contact": contact,
        "trashed": trashed,
        "list": static_list,
        "product": product,
        "deal": deal,
        "quote": quotes.quote_create(actor=owner, deal=deal),
        "order": orders.order_create(
            actor=owner,
            values={"contact": contact},
            lines=[{"name": "Service", "quantity": 1, "unit_price": "80"}],
        ),
        "lead": leads.lead_create(
            actor=owner, values={"last_name": "Lead", "email": "l@west.example"}
        ),
        "task": tasks.task_create(actor=owner, values={"title": "Call Wes"}),
        "activity": activities.activity_create(
            actor=owner, kind="note", links=[contact], values={"body": "Secret west note"}
        ),
        "meeting": meeting,
        "attachment": uploaded.attachment,
        "email_activity": email_activity,
        "email": OutgoingEmail.objects.get(activity=email_activity),
        "template": mail.template_create(actor=owner, name="West", subject="S", body="B"),
        "mailbox": mail_mailbox(owner),
        "saved_view": savedviews.saved_view_create(
            actor=owner,
            object_type="contacts.contact",
            name="West view",
            shared=False,
            filters={},
            columns=["name"],
        ),
        "notification": notify(
            recipients=[user], actor=as_admin, title="For you", url="/", kind="mention"
        )[0],
        "token": ApiToken.objects.create(user=user, name="West", prefix="abcd", digest="0" * 64),
        "job": Job.objects.create(owner=user, kind="export", title="West export"),
        "import_run": import_run,
        "mapping": ImportMapping.objects.create(
            owner=dora, name="West mapping", object_type="contacts", columns={}
        ),
    }


def mail_mailbox(actor: Actor) -> Mailbox:
    from rapport.mail.mailboxes import mailbox_connect

    return mailbox_connect(
        actor=actor,
        password="secret",
        values={
            "name": "West box",
            "host": "127.0.0.1",
            "username": "wes",
            "address": "charlie@example.com",
        },
        check=False,
    )
