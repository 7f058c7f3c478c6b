"""The import wizard in a real browser, on a contacts file with two bad rows: upload,
check and change the suggested mapping, preview the bad cells, dry run, import, download
the failed rows, and roll the import back.

Each job waits, as for a worker, until the test runs it: the page must then show its
outcome by polling, without a reload."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from rapport.conftest import log_in
from rapport.contacts.models import Contact
from rapport.core import jobs
from rapport.exchange.models import ImportRun, ImportStatus

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PEOPLE_CSV = (
    "First name,Surname,E-mail,Phone,Town,Notes\n"
    "Ada,Lovelace,ada@example.com,+44 20 7946 0018,London,Analyst\n"
    "Alan,Turing,alan@example.com,,Manchester,Codebreaker\n"
    "Grace,Hopper,not-an-email,,Arlington,Admiral\n"
    "Edsger,Dijkstra,edsger@example.com,call me,Nuenen,Programmer\n"
)


@pytest.fixture
def held_jobs(monkeypatch) -> list[str]:
    """The ids of the jobs started, queued and left for the test to run."""
    held: list[str] = []
    monkeypatch.setattr(jobs, "enqueue", lambda job_id: held.append(str(job_id)))
    return held


def run_held_job(held: list[str]) -> None:
    """Run the job started last, as the worker would."""
    jobs.job_run(held.pop())


def test_import_contacts_with_bad_rows_then_roll_back(
    page: Page, live_server, admin, settings, tmp_path, held_jobs
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    base = live_server.url
    log_in(page, base, admin.email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import")
    page.get_by_label("Import").select_option(label="Contacts")
    page.get_by_label("CSV or XLSX file").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": PEOPLE_CSV.encode()}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import Contacts from people.csv")

    # The suggested mapping, from the headers.
    suggested = {
        "First name": "first_name",
        "Surname": "last_name",
        "E-mail": "email",
        "Phone": "phone",
        "Town": "address.city",
        "Notes": "",
    }
    for column, target in suggested.items():
        expect(page.get_by_label(column, exact=True)).to_have_value(target)
    expect(page.get_by_label("Match existing records by")).to_have_value("email")
    dates = page.get_by_role("group", name="Dates are written as")
    expect(dates.get_by_role("checkbox", name="2026-12-31")).to_be_checked()
    expect(page.locator("#import-status")).to_be_hidden()  # nothing has run yet

    # Notes hold job titles here.
    page.get_by_label("Notes", exact=True).select_option(label="Job title")
    page.get_by_role("button", name="Apply and preview").click()
    preview = page.locator("#import-preview")
    expect(preview.locator("tbody tr")).to_have_count(4)
    bad_cells = preview.locator("td.cell-error")
    expect(bad_cells).to_have_count(2)
    expect(bad_cells.nth(0)).to_contain_text("not-an-email")
    expect(bad_cells.nth(0)).to_contain_text("Enter a valid email address.")
    expect(bad_cells.nth(1)).to_contain_text("call me")
    expect(page.get_by_label("Notes", exact=True)).to_have_value("job_title")

    # The dry run writes nothing and says what the import would do.
    page.get_by_role("button", name="Dry run").click()
    status = page.locator("#import-status")
    expect(status).to_contain_text("Queued")
    run_held_job(held_jobs)
    expect(status).to_contain_text(
        "Dry run: 2 created, 0 updated, 0 unchanged, 2 failed. Nothing was written."
    )
    expect(status.get_by_role("link", name="Download the rows that would fail")).to_be_visible()
    assert not Contact.objects.exists()

    page.get_by_role("button", name="Import", exact=True).click()
    status = page.locator("#import-status")
    expect(status.get_by_role("status")).to_contain_text("Queued")
    expect(page.locator("#mapping-form")).to_have_count(0)
    run_held_job(held_jobs)
    expect(status.get_by_role("status")).to_contain_text("Done")
    counts = status.locator("#import-counts")
    expect(counts.locator("dt:has-text('Created') + dd")).to_have_text("2")
    expect(counts.locator("dt:has-text('Failed') + dd")).to_have_text("2")
    assert sorted(Contact.objects.values_list("job_title", flat=True)) == [
        "Analyst",
        "Codebreaker",
    ]

    with page.expect_download() as download:
        status.get_by_role("link", name="Download failed rows").click()
    assert download.value.suggested_filename == "people-failed-rows.csv"
    with Path(download.value.path()).open(encoding="utf-8", newline="") as failed:
        rows = list(csv.reader(failed))
    assert rows[0] == [*PEOPLE_CSV.splitlines()[0].split(","), "Line", "Reason"]
    assert [row[:7] for row in rows[1:]] == [
        ["Grace", "Hopper", "not-an-email", "", "Arlington", "Admiral", "4"],
        ["Edsger", "Dijkstra", "edsger@example.com", "call me", "Nuenen", "Programmer", "5"],
    ]
    assert rows[1][7] == "E-mail: Enter a valid email address."
    assert rows[2][7].startswith("Phone: ")

    # The rollback's own page follows it.
    page.get_by_role("button", name="Roll back this import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Rollback of the import of people.csv"
    )
    progress = page.locator("#job-progress")
    expect(progress.get_by_role("status")).to_contain_text("Queued")
    run_held_job(held_jobs)
    expect(progress.get_by_role("status")).to_contain_text(
        "2 records put back as they were before the import; 0 left as they are."
    )
    page.go_back()
    page.reload()
    expect(page.locator("#import-status").get_by_role("status")).to_contain_text("Rolled back")
    assert ImportRun.objects.get().status == ImportStatus.ROLLED_BACK
    assert not Contact.objects.exists()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("link", name="Ada Lovelace")).to_have_count(0)
    expect(page.get_by_role("link", name="Alan Turing")).to_have_count(0)
