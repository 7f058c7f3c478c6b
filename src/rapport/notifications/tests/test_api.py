"""The notifications API, through HTTP."""

from __future__ import annotations

from rapport.notifications import services
from rapport.notifications.models import Notification


def test_list_mine_unread_and_mark_read(alice_client, as_admin, alice, bob):
    services.notify(recipients=[alice, bob], actor=as_admin, title="One", url="/x/", kind="k")
    services.notify(recipients=[alice], actor=as_admin, title="Two", url="", kind="k")

    listed = alice_client.get("/api/v1/notifications").json()
    assert [item["title"] for item in listed["items"]] == ["Two", "One"]
    first = listed["items"][1]["id"]

    marked = alice_client.post(f"/api/v1/notifications/{first}/read")
    assert marked.status_code == 200 and marked.json()["read_at"] is not None

    unread = alice_client.get("/api/v1/notifications", {"unread": "true"}).json()
    assert [item["title"] for item in unread["items"]] == ["Two"]

    assert alice_client.post("/api/v1/notifications/read-all").json() == {"marked": 1}


def test_someone_elses_notification_is_a_404_problem(alice_client, as_admin, bob):
    [theirs] = services.notify(recipients=[bob], actor=as_admin, title="x", url="", kind="k")

    response = alice_client.post(f"/api/v1/notifications/{theirs.pk}/read")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_a_bad_cursor_is_a_400_problem(alice_client):
    response = alice_client.get("/api/v1/notifications", {"cursor": "nope"})

    assert response.status_code == 400
