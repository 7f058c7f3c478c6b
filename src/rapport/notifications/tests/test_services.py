"""Notifying users and marking notifications read, through the services."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy

from rapport.core.actors import Actor
from rapport.core.models import Source
from rapport.notifications import services
from rapport.notifications.models import Notification


def test_notify_skips_the_actor_and_duplicates(as_alice, alice, bob, charlie):
    created = services.notify(
        recipients=[alice, bob, bob, charlie],
        actor=as_alice,
        title="Call Acme back",
        url="/contacts/1/",
        kind="task.assigned",
    )

    assert sorted(n.recipient_id for n in created) == sorted([bob.pk, charlie.pk])
    stored = Notification.objects.get(recipient=bob)
    assert (stored.title, stored.url, stored.kind) == (
        "Call Acme back",
        "/contacts/1/",
        "task.assigned",
    )
    assert stored.actor_label == "Alice"
    assert stored.read_at is None and stored.emailed_at is None


def test_notify_skips_inactive_users(as_alice, bob):
    bob.is_active = False
    bob.save()

    assert services.notify(recipients=[bob], actor=as_alice, title="x", url="", kind="k") == []


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "tasks/3/",
        "/a\nb",
    ],
)
def test_notify_refuses_links_off_this_site(as_alice, bob, url):
    with pytest.raises(ValidationError):
        services.notify(recipients=[bob], actor=as_alice, title="x", url=url, kind="k")

    assert not Notification.objects.exists()


def test_a_lazy_title_is_translated_for_each_recipient(as_alice, bob, charlie):
    charlie.language = "fr"
    charlie.save()

    services.notify(
        recipients=[bob, charlie],
        actor=as_alice,
        title=gettext_lazy("Notifications"),
        url="",
        kind="k",
    )

    assert Notification.objects.get(recipient=bob).title == "Notifications"
    assert Notification.objects.get(recipient=charlie).title != ""


def test_a_system_actor_notifies_everyone_without_a_label(alice):
    [created] = services.notify(
        recipients=[alice], actor=Actor.system(), title="Reminder", url="", kind="k"
    )

    assert created.actor_label == ""


def test_only_the_recipient_marks_a_notification_read(as_alice, alice, bob):
    [notification] = services.notify(recipients=[bob], actor=as_alice, title="x", url="", kind="k")

    with pytest.raises(Http404):
        services.notification_mark_read(notification, actor=as_alice)
    services.notification_mark_read(notification, actor=Actor(user=bob, source=Source.UI))

    notification.refresh_from_db()
    assert notification.read_at is not None


def test_mark_all_read_touches_only_the_actors_unread(as_alice, alice, bob, charlie):
    services.notify(recipients=[bob, charlie], actor=as_alice, title="x", url="", kind="k")
    services.notify(recipients=[bob], actor=as_alice, title="y", url="", kind="k")

    assert services.notifications_mark_all_read(actor=Actor(user=bob, source=Source.UI)) == 2
    assert not Notification.objects.filter(recipient=bob, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=charlie, read_at__isnull=True).count() == 1


def test_preferences_are_the_users_own(as_alice, alice, bob):
    preference = services.preferences_update(
        alice, actor=as_alice, email_digest=True, email_reminders=True
    )

    assert preference.email_digest and preference.email_reminders
    assert preference.next_digest_at is not None
    with pytest.raises(PermissionDenied):
        services.preferences_update(bob, actor=as_alice, email_digest=True, email_reminders=False)

    off = services.preferences_update(
        alice, actor=as_alice, email_digest=False, email_reminders=False
    )
    assert off.next_digest_at is None
