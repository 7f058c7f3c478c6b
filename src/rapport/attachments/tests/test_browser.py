"""Attach a file on a contact's page in a real browser (Debian's chromium through
Playwright): the panel uploads with htmx, shows the new version, and downloads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from rapport.attachments.tests.conftest import PDF
from rapport.conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_upload_a_file_twice_and_download_it(page: Page, live_server, alice, ann) -> None:
    log_in(page, live_server.url, alice.email)
    page.goto(f"{live_server.url}{ann.get_absolute_url()}")
    panel = page.locator("#attachments-panel")
    expect(panel).to_contain_text("No attachments yet.")

    for content in (PDF, PDF + b"%v2\n"):
        panel.get_by_label("File").set_input_files(
            {"name": "offer.pdf", "mimeType": "application/pdf", "buffer": content}
        )
        panel.get_by_role("button", name="Upload").click()
        expect(panel.get_by_role("status")).to_have_text("“offer.pdf” is attached.")
        panel = page.locator("#attachments-panel")

    expect(panel).to_contain_text("2 versions")
    with page.expect_download() as download:
        panel.get_by_role("link", name="offer.pdf", exact=True).click()
    assert download.value.suggested_filename == "offer.pdf"
    assert Path(download.value.path()).read_bytes() == PDF + b"%v2\n"
