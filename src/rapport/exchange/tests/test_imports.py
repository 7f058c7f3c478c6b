"""The import engine through its services: mapping, standardisation, upsert, failures,
dry run, resume after an interruption, cancel and rollback."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.fields.files import FieldFile
from django.http import Http404
from django.utils import timezone

from rapport.contacts.models import Company, Contact, Tag
from rapport.contacts.services import contact_update
from rapport.core.models import AuditEntry, Job, JobStatus
from rapport.exchange import imports
from rapport.exchange.import_rollback import import_rollback_start
from rapport.exchange.imports import (
    failures_csv,
    import_configure,
    import_preview,
    import_resume,
    import_start,
)
from rapport.exchange.models import ImportRun, ImportStatus
from rapport.exchange.tests.conftest import CONTACTS_CSV, upload, utf16

pytestmark = pytest.mark.django_db


def test_upload_detects_the_shape_and_suggests_a_mapping(as_admin):
    run = upload(as_admin, CONTACTS_CSV)
    assert run.file_format == "csv" and run.delimiter == "," and run.encoding == "utf-8"
    assert run.header[:3] == ["First name", "Last name", "E-mail"]
    assert run.mapping == {
        "0": "first_name",
        "1": "last_name",
        "2": "email",
        "3": "phone",
        "4": "address.city",
        "5": "address.country",
        "6": "tags",
    }
    assert run.options["key"] == "email"


@pytest.mark.parametrize(
    ("content", "encoding", "delimiter"),
    [
        ("\ufeffName;Email\nÉmile;e@example.com\n".encode(), "utf-8-sig", ";"),
        (utf16("Name\tEmail\nÉmile\te@example.com\n"), "utf-16", "\t"),
        ("Name,Email\nÉmile,e@example.com\nZoë,z@example.com\n".encode("latin-1"), None, ","),
    ],
)
def test_encodings_and_delimiters_are_detected(as_admin, content, encoding, delimiter):
    run = upload(as_admin, content)
    assert run.delimiter == delimiter
    if encoding:
        assert run.encoding == encoding
    preview = import_preview(run, actor=as_admin)
    assert preview[0].cells[0][0] == "Émile"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "photo.csv", "binary data"),
        (b"", "empty.csv", "empty"),
        (b"PK\x03\x04 not really a zip", "sheet.xlsx", "not a valid XLSX"),
        (b",,\n1,2,3\n", "blank.csv", "name the columns"),
    ],
)
def test_unreadable_files_are_refused_before_any_write(as_admin, content, name, message):
    with pytest.raises(ValidationError) as refused:
        upload(as_admin, content, name=name)
    assert message in " ".join(refused.value.message_dict["file"])
    assert not ImportRun.objects.exists()


def test_a_file_over_the_limit_is_refused(as_admin, settings):
    settings.IMPORT_MAX_BYTES = 50
    with pytest.raises(ValidationError) as refused:
        upload(as_admin, CONTACTS_CSV)
    assert "can be imported" in refused.value.message_dict["file"][0]


def test_a_mapping_without_a_required_field_is_refused(as_admin):
    run = upload(as_admin, CONTACTS_CSV)
    with pytest.raises(ValidationError) as refused:
        import_configure(run, actor=as_admin, mapping={"4": "address.city"}, options={})
    assert "Map a column to" in refused.value.message_dict["mapping"][0]
    with pytest.raises(ValidationError) as refused:
        import_configure(
            run, actor=as_admin, mapping={"0": "first_name", "1": "first_name"}, options={}
        )
    assert "Two columns" in refused.value.message_dict["mapping"][0]


def test_preview_shows_each_bad_cell(uploaded, as_admin):
    run = uploaded()
    preview = import_preview(run, actor=as_admin)
    assert [row.line for row in preview] == [2, 3, 4, 5]
    grace = preview[2]
    assert grace.cells[2] == ("not-an-email", "Enter a valid email address.")
    assert all(message == "" for _text, message in preview[0].cells)


def test_a_run_standardises_and_reports_failed_rows(committed, uploaded, as_admin):
    run = uploaded()
    job = committed(import_start, run, actor=as_admin)
    run.refresh_from_db()
    assert Job.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED
    assert (run.status, run.created, run.updated, run.unchanged, run.failed) == (
        ImportStatus.SUCCEEDED,
        3,
        0,
        0,
        1,
    )
    ada = Contact.objects.get(email="ada@example.com")
    assert ada.phone == "+442079460018"
    assert ada.source == "import"
    assert ada.owner == as_admin.user
    assert [a.country for a in ada.addresses.all()] == ["GB"]
    assert Contact.objects.get(email="alan@example.com").addresses.get().country == "GB"
    entry = AuditEntry.objects.filter(object_id=str(ada.pk), action="create").get()
    assert entry.source == "import" and entry.request_id == run.audit_tag
    report = "".join(failures_csv(run, actor=as_admin)).splitlines()
    assert report[0].endswith("Line,Reason")
    assert (
        report[1].startswith("Grace,Hopper,not-an-email")
        and "E-mail: Enter a valid email" in report[1]
    )


def test_importing_the_same_file_twice_creates_nothing_new(committed, uploaded, as_admin):
    committed(import_start, uploaded(), actor=as_admin)
    second = uploaded()
    committed(import_start, second, actor=as_admin)
    second.refresh_from_db()
    assert (second.created, second.updated, second.unchanged, second.failed) == (0, 0, 3, 1)
    assert Contact.objects.count() == 3


def test_upsert_updates_changed_values_only(committed, uploaded, as_admin):
    committed(import_start, uploaded(), actor=as_admin)
    changed = CONTACTS_CSV.replace("Alan,Turing", "Alan M.,Turing")
    run = uploaded(changed)
    committed(import_start, run, actor=as_admin)
    run.refresh_from_db()
    assert (run.created, run.updated, run.unchanged) == (0, 1, 2)
    assert Contact.objects.get(email="alan@example.com").first_name == "Alan M."


def test_a_key_repeated_in_the_file_updates_the_record_it_created(committed, uploaded, as_admin):
    text = "Email,First name\nsam@example.com,Sam\nsam@example.com,Samuel\n"
    run = uploaded(text)
    committed(import_start, run, actor=as_admin)
    run.refresh_from_db()
    assert (run.created, run.updated) == (1, 1)
    assert Contact.objects.get().first_name == "Samuel"


def test_dry_run_reports_without_writing(committed, uploaded, as_admin):
    run = uploaded()
    job = committed(import_start, run, actor=as_admin, dry_run=True)
    job.refresh_from_db()
    assert job.result == {"created": 3, "updated": 0, "unchanged": 0, "failed": 1}
    assert "Nothing was written" in job.message
    assert not Contact.objects.exists()
    run.refresh_from_db()
    assert run.status == ImportStatus.MAPPING
    assert "not-an-email" in "".join(failures_csv(run, actor=as_admin, dry_run=True))
    committed(import_start, run, actor=as_admin)
    assert Contact.objects.count() == 3


def test_ragged_rows_and_references_fail_alone(committed, uploaded, as_admin, alice):
    Tag.objects.create(name="VIP")
    text = (
        "Email,First name,Owner,Tags\n"
        "a@example.com,A,alice@example.com,vip\n"
        "b@example.com,B,nobody@example.com,\n"
        "c@example.com,C,,VIP,extra\n"
        "d@example.com,D,,Unknown\n"
        "e@example.com\n"
    )
    run = uploaded(text)
    committed(import_start, run, actor=as_admin)
    run.refresh_from_db()
    assert (run.created, run.failed) == (2, 3)
    reasons = {f.line: f.reason for f in run.failures.all()}
    assert "No active user" in reasons[3]
    assert "has 5 cells" in reasons[4]
    assert "no tag named Unknown" in reasons[5]
    assert [t.name for t in Contact.objects.get(email="a@example.com").tags.all()] == ["VIP"]


def test_companies_are_found_or_created_by_domain_or_name(committed, uploaded, as_admin):
    Company.objects.create(name="Initech", domain="initech.com")
    text = "Email,Company\na@example.com,initech.com\nb@example.com,Initech\nc@example.com,Globex\n"
    run = uploaded(text, create_companies=True)
    committed(import_start, run, actor=as_admin)
    run.refresh_from_db()
    assert run.created == 3
    assert Contact.objects.get(email="a@example.com").company.name == "Initech"
    assert Contact.objects.get(email="b@example.com").company.name == "Initech"
    assert Contact.objects.get(email="c@example.com").company.name == "Globex"
    refused = uploaded("Email,Company\nd@example.com,Umbrella\n")
    committed(import_start, refused, actor=as_admin)
    assert refused.failures.get().reason == "Company: There is no company named Umbrella."


def test_dates_in_declared_formats(committed, uploaded, as_admin):
    text = "Email,Birthday\na@example.com,31/12/1990\nb@example.com,1990-12-31\n"
    run = uploaded(text, date_formats=["%d/%m/%Y"])
    committed(import_start, run, actor=as_admin)
    run.refresh_from_db()
    assert run.created == 2
    assert str(Contact.objects.get(email="a@example.com").birthday) == "1990-12-31"


class Interrupted(BaseException):
    """Stands for the worker being killed: nothing after it runs, no handler catches it."""


def test_an_interrupted_run_resumes_from_its_last_batch(
    committed, uploaded, as_admin, settings, monkeypatch
):
    settings.IMPORT_BATCH_ROWS = 2
    rows = "".join(f"p{n}@example.com,Person {n}\n" for n in range(7))
    run = uploaded("Email,Last name\n" + rows)
    batches = {"count": 0}
    write_batch = imports.Writer.write_batch

    def dying(self, batch):
        batches["count"] += 1
        written = write_batch(self, batch)
        if batches["count"] == 2:  # the second batch is written but not committed
            assert Contact.objects.count() == 4
            raise Interrupted
        return written

    monkeypatch.setattr(imports.Writer, "write_batch", dying)
    # The task runner logs what stopped the job; the job stays "running", as with a
    # killed worker, until the sweep for abandoned jobs marks it failed.
    committed(import_start, run, actor=as_admin)
    run.refresh_from_db()
    assert (run.next_row, run.created, Contact.objects.count()) == (2, 2, 2)
    assert run.status == ImportStatus.INTERRUPTED
    assert Job.objects.get(pk=run.job_id).status == JobStatus.RUNNING
    Job.objects.filter(pk=run.job_id).update(status=JobStatus.FAILED)
    monkeypatch.setattr(imports.Writer, "write_batch", write_batch)
    committed(import_resume, run, actor=as_admin)
    run.refresh_from_db()
    assert (run.status, run.created, run.next_row) == (ImportStatus.SUCCEEDED, 7, 7)
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        f"p{n}@example.com" for n in range(7)
    ]


def test_rollback_removes_created_and_restores_updated(committed, uploaded, as_admin, alice):
    existing = uploaded("Email,First name,Job title\nkeep@example.com,Kim,Engineer\n")
    committed(import_start, existing, actor=as_admin)
    text = (
        "Email,First name,Job title\n"
        "keep@example.com,Kim,Director\n"
        "new@example.com,Nia,Analyst\n"
        "touched@example.com,Tom,Clerk\n"
    )
    run = uploaded(text)
    committed(import_start, run, actor=as_admin)
    touched = Contact.objects.get(email="touched@example.com")
    contact_update(touched, actor=as_admin, values={"job_title": "Manager"})
    run.refresh_from_db()
    job = committed(import_rollback_start, run, actor=as_admin)
    job.refresh_from_db()
    run.refresh_from_db()
    assert run.status == ImportStatus.ROLLED_BACK
    assert Contact.objects.get(email="keep@example.com").job_title == "Engineer"
    assert not Contact.objects.filter(email="new@example.com").exists()
    assert Contact.objects.get(email="touched@example.com").job_title == "Manager"
    assert job.result["failures"] == [{"record": "Tom", "reason": "Changed since the import."}]


def test_rollback_takes_away_the_address_an_import_added(committed, uploaded, as_admin):
    first = uploaded("Email,City,Country\nada@example.com,Lyon,France\n")
    committed(import_start, first, actor=as_admin)
    second = uploaded("Email,City,Country\nada@example.com,Berlin,Germany\n")
    committed(import_start, second, actor=as_admin)
    ada = Contact.objects.get(email="ada@example.com")
    assert sorted(ada.addresses.values_list("city", flat=True)) == ["Berlin", "Lyon"]
    committed(import_rollback_start, second, actor=as_admin)
    assert list(ada.addresses.values_list("city", "country")) == [("Lyon", "FR")]


def test_an_import_is_rolled_back_once(committed, uploaded, as_admin):
    run = uploaded()
    committed(import_start, run, actor=as_admin)
    import_rollback_start(run, actor=as_admin)
    run.refresh_from_db()
    assert run.status == ImportStatus.ROLLING_BACK
    with pytest.raises(ValidationError, match="can be rolled back"):
        import_rollback_start(run, actor=as_admin)
    with pytest.raises(ValidationError, match="can be cancelled"):
        imports.import_cancel(run, actor=as_admin)
    assert Job.objects.filter(kind="exchange.import_rollback").count() == 1


def test_a_failed_rollback_may_be_tried_again(committed, uploaded, as_admin, monkeypatch):
    from rapport.exchange import import_rollback

    run = uploaded()
    committed(import_start, run, actor=as_admin)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(import_rollback, "_entries_by_record", broken)
    job = committed(import_rollback_start, run, actor=as_admin)
    run.refresh_from_db()
    assert (job.status, run.status) == (JobStatus.FAILED, ImportStatus.SUCCEEDED)
    monkeypatch.undo()
    committed(import_rollback_start, run, actor=as_admin)
    run.refresh_from_db()
    assert run.status == ImportStatus.ROLLED_BACK
    assert not Contact.objects.exists()


def test_someone_elses_import_is_not_found(committed, uploaded, as_alice):
    run = uploaded()
    with pytest.raises(Http404):
        committed(import_start, run, actor=as_alice)


def test_a_sales_rep_may_not_import(as_alice):
    with pytest.raises(PermissionDenied):
        upload(as_alice, CONTACTS_CSV)
    assert not ImportRun.objects.exists()


def _no_path(field_file: FieldFile) -> str:
    raise NotImplementedError("This backend doesn't support absolute paths.")


def test_files_on_a_storage_without_paths_import_too(committed, as_admin, monkeypatch):
    # As on S3-compatible storage: the import reads a temporary copy of the file.
    monkeypatch.setattr(FieldFile, "path", property(_no_path))
    run = upload(as_admin, CONTACTS_CSV)
    committed(import_start, run, actor=as_admin)
    run.refresh_from_db()
    assert (run.created, run.failed) == (3, 1)


def test_activities_link_to_the_contact_and_company_they_name(committed, as_admin):
    from rapport.activities.models import Activity

    ada = Contact.objects.create(first_name="Ada", email="ada@example.com")
    ada.emails.create(email="ada@example.com", is_primary=True)
    Company.objects.create(name="Initech", domain="initech.com")
    text = (
        "Type,Subject,Date,Contact email,Company,Duration,Direction,Notes\n"
        "Call,Intro call,31/12/2026 14:30,ada@example.com,,300,outbound,\n"
        "Note,Kick-off,01/01/2027,,initech.com,,,Agreed on the plan\n"
        "Carrier pigeon,?,01/01/2027,ada@example.com,,,,\n"
        "Note,Orphan,01/01/2027,nobody@example.com,,,,x\n"
    )
    run = upload(as_admin, text, object_type="activities")
    assert run.mapping == {
        "0": "kind",
        "1": "subject",
        "2": "occurred_at",
        "3": "contact",
        "4": "company",
        "5": "duration_seconds",
        "6": "direction",
        "7": "body",
    }
    import_configure(
        run, actor=as_admin, mapping=run.mapping, options={"date_formats": ["%d/%m/%Y"]}
    )
    committed(import_start, run, actor=as_admin)
    run.refresh_from_db()
    assert (run.created, run.failed) == (2, 2), [f.reason for f in run.failures.all()]
    call = Activity.objects.get(subject="Intro call")
    assert call.kind == "call" and call.duration_seconds == 300
    assert timezone.localtime(call.occurred_at).strftime("%Y-%m-%d %H:%M") == "2026-12-31 14:30"
    assert [(link.object_type, link.object_id) for link in call.links.all()] == [
        ("contacts.contact", ada.pk)
    ]
    reasons = sorted(failure.reason for failure in run.failures.all())
    assert "Type: Choose one of" in reasons[1] or "Type: Choose one of" in reasons[0]
    assert any("No contact has the email address nobody@example.com." in r for r in reasons)
