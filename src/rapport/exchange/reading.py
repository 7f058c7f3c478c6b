"""Reading an uploaded table, CSV or XLSX, row by row, whatever its size.

``inspect`` looks at the start of the file and finds what the wizard needs
before any write: the format (by content, not by name), the encoding (a BOM,
else UTF-16 by its NUL bytes, else UTF-8 if the sample decodes, else
charset-normalizer's guess, Windows-1252 on a tie), the delimiter (csv.Sniffer
among the usual ones) and the header. ``data_rows`` then streams the rows
after the header, never holding the file in memory; a row it cannot read
stops it with ``UnreadableFile``.

A spreadsheet is a zip of XML: its members' declared sizes are checked
before openpyxl opens it, so a small file that unpacks to gigabytes (an
"XLSX bomb") is refused, and defusedxml (installed with the app) guards
openpyxl's XML parser against entity expansion.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import decimal
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer
from django.conf import settings
from django.core.files import File
from django.utils.translation import gettext as _

CSV = "csv"
XLSX = "xlsx"
SAMPLE_BYTES = 256 * 1024
WINDOWS_1252 = "cp1252"
DELIMITERS = ",;\t|"
# What a spreadsheet may unpack to, against its size on disk.
MAX_UNPACKED_RATIO = 100
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Cells longer than this are cut by the csv module's guard; no real field is this long.
csv.field_size_limit(1024 * 1024)


class UnreadableFile(Exception):
    """The file cannot be imported; the message says why, for its owner."""


@dataclass
class TableInfo:
    file_format: str
    encoding: str = ""
    delimiter: str = ""
    header: list[str] = field(default_factory=list)


@contextlib.contextmanager
def local_copy(stored: File) -> Iterator[Path]:
    """A path to a stored file: the file itself on local storage, else a temporary copy
    (S3-compatible storage has no paths)."""
    try:
        path: Path | None = Path(stored.path)
    except NotImplementedError:
        path = None
    if path is not None:
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=Path(stored.name).suffix) as copy:
        with stored.open("rb") as source:
            shutil.copyfileobj(source, copy)
        copy.flush()
        yield Path(copy.name)


def max_upload_bytes() -> int:
    return settings.IMPORT_MAX_BYTES


def check_size(size: int) -> None:
    limit = max_upload_bytes()
    if size > limit:
        raise UnreadableFile(
            _("The file is %(size)s MB; files up to %(limit)s MB can be imported.")
            % {"size": round(size / 1_000_000, 1), "limit": round(limit / 1_000_000, 1)}
        )
    if size == 0:
        raise UnreadableFile(_("The file is empty."))


def detect_encoding(sample: bytes) -> str:
    for bom, encoding in BOMS:
        if sample.startswith(bom):
            return encoding
    if utf16 := _utf16_without_bom(sample):
        return utf16
    try:
        # The sample may end inside a multi-byte character: let the decoder hold it back.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    guesses = charset_normalizer.from_bytes(sample)
    best = guesses.best()
    if best is None:
        raise UnreadableFile(_("This file holds binary data, not text: it is not a CSV file."))
    # Western European text reads as well in Central European code pages (è as č): a
    # tie goes to Windows-1252, what spreadsheets write in Western Europe and America.
    tied = [g for g in guesses if (g.chaos, g.coherence) == (best.chaos, best.coherence)]
    if any(WINDOWS_1252 in guess.could_be_from_charset for guess in tied):
        return WINDOWS_1252
    return best.encoding


def _utf16_without_bom(sample: bytes) -> str:
    """UTF-16 written without a byte order mark: in Latin text every other byte is NUL
    (the odd ones in little-endian order), and the whole decodes to printable text."""
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    for encoding, nuls, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if nuls > len(sample) // 4 and others * 10 < nuls and _printable(sample, encoding):
            return encoding
    return ""


def _printable(sample: bytes, encoding: str) -> bool:
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(sample)
    except UnicodeDecodeError:
        return False
    return all(char.isprintable() or char in "\t\r\n" for char in text)


def _looks_binary(sample: bytes, encoding: str) -> bool:
    # UTF-16 text is full of NUL bytes; any other text has none.
    return not encoding.startswith("utf-16") and b"\x00" in sample


def _sniff_delimiter(text: str) -> str:
    lines = text.splitlines()[:50]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {delimiter: lines[0].count(delimiter) for delimiter in DELIMITERS} if lines else {}
        best = max(counts, key=counts.get, default=",")
        return best if counts.get(best) else ","


def _inspect_csv(path: Path, sample: bytes, encoding: str = "", delimiter: str = "") -> TableInfo:
    encoding = encoding or detect_encoding(sample)
    if _looks_binary(sample, encoding):
        raise UnreadableFile(_("This file holds binary data, not text: it is not a CSV file."))
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample)
    info = TableInfo(CSV, encoding=encoding, delimiter=delimiter or _sniff_delimiter(text))
    info.header = next(_csv_rows(path, info), [])
    return info


def _check_spreadsheet(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile:
        raise UnreadableFile(_("This file is not a valid XLSX spreadsheet.")) from None
    if unpacked > max(path.stat().st_size * MAX_UNPACKED_RATIO, 50_000_000):
        raise UnreadableFile(
            _("This spreadsheet unpacks to %(size)s MB, far more than its size: it is refused.")
            % {"size": unpacked // 1_000_000}
        )


def _inspect_xlsx(path: Path) -> TableInfo:
    _check_spreadsheet(path)
    info = TableInfo(XLSX)
    info.header = next(_xlsx_rows(path), [])
    return info


def inspect(path: Path, *, encoding: str = "", delimiter: str = "") -> TableInfo:
    """Format, encoding, delimiter and header of the table at ``path``; ``encoding`` and
    ``delimiter`` given by the user override what would be detected."""
    check_size(path.stat().st_size)
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if sample.startswith(b"PK\x03\x04"):
        info = _inspect_xlsx(path)
    else:
        try:
            info = _inspect_csv(path, sample, encoding, delimiter)
        except (LookupError, UnicodeError):
            raise UnreadableFile(
                _("The file cannot be read as %(encoding)s.") % {"encoding": encoding}
            ) from None
        except csv.Error as error:
            message = _("The file is not valid CSV: %(error)s") % {"error": error}
            raise UnreadableFile(message) from None
    info.header = [cell.strip() for cell in info.header]
    if not any(info.header):
        raise UnreadableFile(_("The first row must name the columns; it is empty."))
    return info


def _csv_rows(path: Path, info: TableInfo) -> Iterator[list[str]]:
    # Undecodable bytes become U+FFFD rather than stop the import: the row shows it.
    with path.open(encoding=info.encoding, errors="replace", newline="") as handle:
        rows = csv.reader(handle, delimiter=info.delimiter)
        line = 1  # where the row being read starts
        try:
            for row in rows:
                yield row
                line = rows.line_num + 1
        except csv.Error as error:
            raise UnreadableFile(
                _(
                    "The file cannot be read from line %(line)d on (%(error)s): "
                    "a quotation mark left open makes the rest of the file one cell."
                )
                % {"line": line, "error": error}
            ) from None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # As the spreadsheet shows it: 15 significant digits, not the binary noise
        # (0.1 + 0.2 is stored as 0.30000000000000004) that no decimal field takes.
        shown = decimal.Context(prec=15).create_decimal_from_float(value).normalize()
        return f"{shown:f}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise UnreadableFile(_("This file is not a valid XLSX spreadsheet.")) from error
    read = 0
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [_text(value) for value in row]
            read += 1
    except Exception as error:  # a damaged cell fails in openpyxl in many ways too
        raise UnreadableFile(
            _("The spreadsheet is damaged: row %(row)d cannot be read.") % {"row": read + 1}
        ) from error
    finally:
        workbook.close()


def all_rows(path: Path, info: TableInfo) -> Iterator[list[str]]:
    if info.file_format == XLSX:
        return _xlsx_rows(path)
    return _csv_rows(path, info)


def data_rows(path: Path, info: TableInfo, *, start: int = 0) -> Iterator[tuple[int, list[str]]]:
    """``(index, cells)`` of each data row (the first after the header is 0), from the
    ``start``-th on. Blank rows are skipped but counted, so indexes stay true; a row's
    number as a spreadsheet shows it is ``index + 2``."""
    rows = all_rows(path, info)
    next(rows, None)
    for index, cells in enumerate(rows):
        if index >= start and any(cell.strip() for cell in cells):
            yield index, cells


def count_rows(path: Path, info: TableInfo) -> int:
    """Data rows in the table (blank ones included), for the progress bar."""
    if info.file_format == XLSX:
        return max(0, sum(1 for _row in _xlsx_rows(path)) - 1)
    return max(0, sum(1 for _row in _csv_rows(path, info)) - 1)
