"""The bell, the notification centre and the email settings, through HTTP."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.notifications import services
from rapport.notifications.models import Notification, NotificationPreference


@pytest.fixture
def bob_client(bob) -> Client:
    client = Client()
    client.force_login(bob)
    return client


def notify_bob(as_alice, bob, title="Call Acme", url="/contacts/"):
    [notification] = services.notify(
        recipients=[bob], actor=as_alice, title=title, url=url, kind="task.assigned"
    )
    return notification


def test_the_bell_counts_unread_notifications(bob_client, as_alice, bob):
    assert "bell-count" not in bob_client.get("/notifications/").content.decode()
    for number in range(3):
        notify_bob(as_alice, bob, title=f"N{number}")

    body = bob_client.get("/").content.decode()

    assert '<span class="bell-count">3<' in body


def test_the_bell_caps_its_count(bob_client, as_alice, bob):
    Notification.objects.bulk_create(
        Notification(recipient=bob, title=f"N{n}", kind="k") for n in range(120)
    )

    assert '<span class="bell-count">99+<' in bob_client.get("/").content.decode()


def test_the_centre_lists_only_my_notifications_escaped(bob_client, alice_client, as_alice, bob):
    notify_bob(as_alice, bob, title="<b>Call</b> Acme")

    mine = bob_client.get("/notifications/").content.decode()
    theirs = alice_client.get("/notifications/").content.decode()

    assert "&lt;b&gt;Call&lt;/b&gt; Acme" in mine
    assert "Call" not in theirs


def test_the_centre_pages_by_cursor_at_a_fixed_cost(bob_client, bob, django_assert_max_num_queries):
    Notification.objects.bulk_create(
        Notification(recipient=bob, title=f"Item {n:03}", kind="k") for n in range(60)
    )

    with django_assert_max_num_queries(8):
        first = bob_client.get("/notifications/")
    assert first.content.decode().count('id="notification-') == 25
    cursor = first.context["page"].next_cursor
    second = bob_client.get("/notifications/", {"cursor": cursor}).content.decode()
    assert second.count('id="notification-') == 25
    assert bob_client.get("/notifications/", {"cursor": "forged"}).status_code == 400


def test_opening_marks_read_and_goes_to_the_link(bob_client, as_alice, bob):
    notification = notify_bob(as_alice, bob, url="/contacts/?q=acme")

    response = bob_client.get(f"/notifications/{notification.pk}/")

    assert response.status_code == 302
    assert response["Location"] == "/contacts/?q=acme"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_never_redirects_off_site(bob_client, bob):
    # Written around the service, as a bad import or an old row might.
    notification = Notification.objects.create(
        recipient=bob, title="x", kind="k", url="//evil.example/"
    )

    response = bob_client.get(f"/notifications/{notification.pk}/")

    assert response["Location"] == "/notifications/"


def test_someone_elses_notification_is_404(alice_client, as_alice, bob, charlie):
    notification = notify_bob(as_alice, bob)

    assert alice_client.get(f"/notifications/{notification.pk}/").status_code == 404
    assert alice_client.post(f"/notifications/{notification.pk}/read/").status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_one_read_with_htmx_returns_the_item(bob_client, as_alice, bob):
    notification = notify_bob(as_alice, bob)

    response = bob_client.post(f"/notifications/{notification.pk}/read/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Mark read" not in response.content.decode()
    assert bob_client.get(f"/notifications/{notification.pk}/read/").status_code == 405


def test_mark_all_read(bob_client, as_alice, bob):
    notify_bob(as_alice, bob)
    notify_bob(as_alice, bob)

    assert bob_client.post("/notifications/read-all/").status_code == 302
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    unread = bob_client.get("/notifications/", {"show": "unread"}).content.decode()
    assert "You have read everything." in unread


def test_email_settings_page_saves_the_choice(bob_client, bob):
    page = bob_client.get("/notifications/settings/")
    assert "Daily email digest" in page.content.decode()

    response = bob_client.post(
        "/notifications/settings/", {"email_digest": "on", "email_reminders": ""}
    )

    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=bob)
    assert preference.email_digest and not preference.email_reminders


def test_the_profile_links_to_the_settings(alice_client):
    assert "/notifications/settings/" in alice_client.get("/account/").content.decode()


def test_pages_need_sign_in():
    assert Client().get("/notifications/").status_code == 302
