"""The contact list's "Export to vCard": the rows it selected, or all its filters match,
as one ``.vcf`` file on a background job, like its CSV export."""

from __future__ import annotations

import tempfile
from typing import Any

from django.core.files import File
from django.utils.translation import ngettext

from rapport.contacts import queries
from rapport.contacts.exports import (
    VCARD_EXPORT_KIND,
    clean_export_params,
    may_export,
    selected_rows,
)
from rapport.contacts.models import Contact
from rapport.core.jobs import Progress, job_handler
from rapport.core.models import Job
from rapport.exchange.vcard import cards_of, export_name


@job_handler(
    VCARD_EXPORT_KIND,
    authorize=may_export(Contact),
    clean_params=clean_export_params,
    resumable=True,
)
def export_vcards(job: Job, progress: Progress) -> dict[str, Any]:
    rows, _ordering = selected_rows(job.owner, queries.contact_list, job.params)
    total = rows.count()
    progress(0, total)
    written = 0
    with tempfile.TemporaryFile() as buffer:
        for count, text in cards_of(rows):
            buffer.write(text.encode())
            written += count
            progress(written, max(total, written))
        buffer.seek(0)
        job.result_file.save(export_name(), File(buffer), save=False)
    message = ngettext(
        "%(count)d contact exported as vCards.", "%(count)d contacts exported as vCards.", written
    )
    return {"rows": written, "message": message % {"count": written}}
