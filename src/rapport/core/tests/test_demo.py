"""``rapport demo`` builds the same workspace for the same seed, once."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from rapport.accounts.models import Team, User


def run_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_demo_creates_people_who_can_log_in_and_prints_how():
    output = run_demo("--seed", "3")

    login = "Log in at http://127.0.0.1:8000/ as admin@example.com with password rapport-demo"
    assert login in output
    assert User.objects.count() > 10
    assert set(Team.objects.values_list("name", flat=True)) == {"North", "South", "Customer care"}
    assert Team.objects.get(name="North").manager.role.slug == "sales-manager"
    client = Client()
    assert client.login(email="admin@example.com", password="rapport-demo")
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_demo_is_deterministic_per_seed():
    run_demo("--seed", "7")
    first = sorted(User.objects.values_list("email", "timezone"))
    User.objects.all().delete()
    Team.objects.all().delete()

    run_demo("--seed", "7")

    assert sorted(User.objects.values_list("email", "timezone")) == first


@pytest.mark.django_db
def test_demo_once_leaves_loaded_data_alone():
    run_demo()
    count = User.objects.count()

    assert "already loaded" in run_demo("--once")
    assert User.objects.count() == count
    with pytest.raises(CommandError):
        run_demo()
