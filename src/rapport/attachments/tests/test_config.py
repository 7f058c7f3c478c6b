"""RAPPORT_ATTACHMENT_* and RAPPORT_S3_*: defaults, the S3 storage they configure
(built, never connected), and one clear line for a bad value."""

from __future__ import annotations

import subprocess
import sys

import pytest
from storages.backends.s3 import S3Storage

from rapport import config

S3_NAMES = ("RAPPORT_S3_BUCKET", "RAPPORT_ATTACHMENT_TYPES", *config.S3_VARIABLES)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in S3_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_by_default_files_go_to_the_media_dir_and_common_documents_are_accepted():
    assert config.file_storage() == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    types = config.attachment_types()
    assert {"application/pdf", "image/png", "text/csv"} <= set(types)
    assert not {"text/html", "image/svg+xml", "application/x-msdownload"} & set(types)


def test_attachment_types_are_a_list_of_media_types_and_families(monkeypatch):
    monkeypatch.setenv("RAPPORT_ATTACHMENT_TYPES", " Application/PDF, image/* ,")

    assert config.attachment_types() == ["application/pdf", "image/*"]


def test_an_s3_bucket_makes_it_the_default_storage(monkeypatch):
    monkeypatch.setenv("RAPPORT_S3_BUCKET", "acme-crm")
    monkeypatch.setenv("RAPPORT_S3_ENDPOINT_URL", "https://s3.eu.example.net")
    monkeypatch.setenv("RAPPORT_S3_REGION", "eu-central-1")
    monkeypatch.setenv("RAPPORT_S3_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("RAPPORT_S3_SECRET_ACCESS_KEY", "wJalrXUtnFEMI")
    monkeypatch.setenv("RAPPORT_S3_PREFIX", "/rapport/files/")
    monkeypatch.setenv("RAPPORT_S3_ADDRESSING_STYLE", "path")

    storage = config.file_storage()
    built = S3Storage(**storage["OPTIONS"])

    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert (built.bucket_name, built.endpoint_url, built.region_name) == (
        "acme-crm",
        "https://s3.eu.example.net",
        "eu-central-1",
    )
    assert (built.access_key, built.secret_key) == ("AKIDEXAMPLE", "wJalrXUtnFEMI")
    assert (built.location, built.addressing_style) == ("rapport/files", "path")
    assert built.default_acl is None
    assert built.file_overwrite is False


def test_without_keys_boto3_finds_credentials_itself(monkeypatch):
    monkeypatch.setenv("RAPPORT_S3_BUCKET", "acme-crm")

    options = config.file_storage()["OPTIONS"]

    assert "access_key" not in options
    assert "endpoint_url" not in options


@pytest.mark.parametrize(
    ("values", "variable", "message"),
    [
        ({"RAPPORT_S3_REGION": "eu-west-1"}, "RAPPORT_S3_REGION", "set RAPPORT_S3_BUCKET too"),
        ({"RAPPORT_S3_BUCKET": "Acme_CRM"}, "RAPPORT_S3_BUCKET", "is not a bucket name"),
        ({"RAPPORT_S3_BUCKET": "ab"}, "RAPPORT_S3_BUCKET", "is not a bucket name"),
        (
            {"RAPPORT_S3_BUCKET": "crm", "RAPPORT_S3_ENDPOINT_URL": "s3.example.net"},
            "RAPPORT_S3_ENDPOINT_URL",
            "http(s)://host",
        ),
        (
            {"RAPPORT_S3_BUCKET": "crm", "RAPPORT_S3_ACCESS_KEY_ID": "AKID"},
            "RAPPORT_S3_SECRET_ACCESS_KEY",
            "both S3 access keys",
        ),
        (
            {"RAPPORT_S3_BUCKET": "crm", "RAPPORT_S3_PREFIX": "a/../b"},
            "RAPPORT_S3_PREFIX",
            "not a key prefix",
        ),
        (
            {"RAPPORT_S3_BUCKET": "crm", "RAPPORT_S3_ADDRESSING_STYLE": "sideways"},
            "RAPPORT_S3_ADDRESSING_STYLE",
            "use auto, virtual or path",
        ),
    ],
)
def test_bad_s3_settings_name_the_variable(monkeypatch, values, variable, message):
    for name, value in values.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(config.ConfigError) as error:
        config.file_storage()

    assert error.value.variable == variable
    assert message in str(error.value)


def test_a_secret_never_appears_in_an_error(monkeypatch):
    monkeypatch.setenv("RAPPORT_S3_BUCKET", "crm")
    monkeypatch.setenv("RAPPORT_S3_SECRET_ACCESS_KEY", "very-secret-value")

    with pytest.raises(config.ConfigError) as error:
        config.file_storage()

    assert "very-secret-value" not in str(error.value)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RAPPORT_ATTACHMENT_TYPES", "application/pdf,pdf", "'pdf' is not a media type"),
        ("RAPPORT_S3_BUCKET", "No Such Bucket", "is not a bucket name"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line_naming_the_variable(
    tmp_path, variable, value, message
):
    env = {"PATH": "/usr/bin:/bin", "RAPPORT_DATA_DIR": str(tmp_path), variable: value}

    result = subprocess.run(
        [sys.executable, "-m", "rapport", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"rapport: configuration error: {variable}: ")
    assert message in line
