"""Email templates: merge fields checked on save, owned by their author, shared ones
managed by admins; through the services and the pages."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client
from django.urls import reverse

from rapport.core.actors import Actor
from rapport.core.models import AuditEntry, Source
from rapport.mail import services
from rapport.mail.models import EmailTemplate

pytestmark = pytest.mark.django_db


def actor_for(user) -> Actor:
    return Actor(user=user, source=Source.UI)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make(user, name="Follow-up", *, shared=False, **values) -> EmailTemplate:
    values = {
        "subject": "Hi {{ contact.first_name }}",
        "body": "Regards, {{ sender.full_name }}",
    } | values
    return services.template_create(actor=actor_for(user), name=name, shared=shared, **values)


# Services


def test_a_template_is_saved_with_an_audit_entry(alice):
    template = make(alice)

    assert template.owner == alice and not template.shared
    entry = AuditEntry.objects.get(object_id=str(template.pk), action="create")
    assert entry.changes["name"] == [None, "Follow-up"]


def test_unknown_merge_fields_filters_and_tags_are_refused_on_save(alice):
    with pytest.raises(ValidationError) as excinfo:
        make(
            alice,
            subject="Hi {{ contact.owner.password }}",
            body="{% if 1 %}{{ contact.email|upper }}{% endif %}",
        )

    errors = excinfo.value.message_dict
    assert errors["subject"][0].startswith("Unknown merge fields: contact.owner.password.")
    assert any("not tags: {% if %}" in error for error in errors["body"])
    assert any("Unknown filters: upper." in error for error in errors["body"])
    assert not EmailTemplate.objects.exists()


def test_a_subject_on_two_lines_and_a_missing_name_are_refused(alice):
    with pytest.raises(ValidationError) as excinfo:
        make(alice, name="", subject="Hi\nBcc: x@y.test")

    errors = excinfo.value.message_dict
    assert errors["subject"] == ["The subject must be one line."]
    assert "name" in errors


def test_only_admins_share_templates(alice, admin):
    with pytest.raises(PermissionDenied):
        make(alice, shared=True)
    mine = make(alice)
    with pytest.raises(PermissionDenied):
        services.template_update(mine, actor=actor_for(alice), shared=True)

    shared = make(admin, "Welcome", shared=True)
    with pytest.raises(PermissionDenied):
        services.template_update(shared, actor=actor_for(alice), name="Mine now")
    with pytest.raises(PermissionDenied):
        services.template_delete(shared, actor=actor_for(alice))

    assert services.template_update(mine, actor=actor_for(alice), name="Renamed").name == "Renamed"


def test_someone_elses_private_template_does_not_exist_for_you(alice, bob):
    template = make(bob)

    with pytest.raises(Http404):
        services.template_update(template, actor=actor_for(alice), name="Taken")
    with pytest.raises(Http404):
        services.template_delete(template, actor=actor_for(alice))


# Pages


def test_the_list_shows_mine_and_the_shared_ones_not_others(
    alice, bob, admin, django_assert_max_num_queries
):
    make(alice, "Mine")
    make(admin, "Everyone's", shared=True)
    make(bob, "Bob's secret")
    client = client_for(alice)

    with django_assert_max_num_queries(8):
        response = client.get(reverse("mail:template_list"))

    page = response.content.decode()
    assert "Mine" in page and "Everyone&#x27;s" in page and "Bob&#x27;s secret" not in page
    assert page.count(">Edit<") == 1  # only her own can she change


def test_creating_a_template_through_the_form_shows_merge_errors(alice):
    client = client_for(alice)
    url = reverse("mail:template_create")

    response = client.post(url, {"name": "Bad", "subject": "{{ contact.__class__ }}", "body": "x"})

    assert response.status_code == 200
    assert "Not a merge field: {{ contact.__class__ }}." in response.content.decode()
    response = client.post(
        url, {"name": "Good", "subject": "Hi {{ contact.first_name }}", "body": "x"}
    )
    assert response.status_code == 302
    assert EmailTemplate.objects.get().name == "Good"


def test_the_shared_box_is_for_admins_only(alice, admin_client):
    response = client_for(alice).post(
        reverse("mail:template_create"), {"name": "T", "subject": "S", "body": "B", "shared": "on"}
    )
    assert response.status_code == 302
    assert EmailTemplate.objects.get().shared is False

    admin_client.post(
        reverse("mail:template_create"), {"name": "U", "subject": "S", "body": "B", "shared": "on"}
    )
    assert EmailTemplate.objects.get(name="U").shared is True


def test_editing_and_deleting_through_the_pages(alice, bob, admin):
    template = make(alice)
    shared = make(admin, "Shared", shared=True)
    client = client_for(alice)

    assert client.get(reverse("mail:template_edit", args=[make(bob).pk])).status_code == 404
    assert client.get(reverse("mail:template_edit", args=[shared.pk])).status_code == 403
    response = client.post(
        reverse("mail:template_edit", args=[template.pk]),
        {"name": "Renamed", "subject": "S", "body": "B"},
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.name == "Renamed"

    assert client.get(reverse("mail:template_delete", args=[template.pk])).status_code == 200
    client.post(reverse("mail:template_delete", args=[template.pk]))
    assert not EmailTemplate.objects.filter(pk=template.pk).exists()
