"""Duplicate detection over the whole database: the scan that fills the review queue.

The scan never compares every record with every other (a million contacts make
half a trillion pairs). It gathers evidence in two steps:

1. **Shared keys.** Records that share a normalised email address, an E.164
   phone number or (companies) a domain are found by a ``GROUP BY`` in the
   database; only the members of keys held by two or more records are read.
   A key held by more than ``SHARED_KEY_CAP`` records (``info@…``, a
   switchboard number, a hosting domain) says nothing about any two of them:
   it is skipped and counted.
2. **Similar names, within blocks.** Live records are streamed in the order
   of a blocking key computed by the database: for contacts the first three
   letters of the folded (lower-case, accents removed) last name and the first
   letter of the first name, then in a second pass the first three of the first
   name and the first of the last (a slip in the first letters of the last name
   moves a record to another block of the first pass only); for companies the
   first three letters of the folded name. Names are compared only within a
   block, with rapidfuzz (``process.cdist``, ``ratio`` of the folded words in
   their order). A block larger than ``BLOCK_CAP`` is sorted by name and
   compared in overlapping windows of ``BLOCK_CAP`` (a sorted neighbourhood),
   so no record costs more than ``BLOCK_CAP`` comparisons a pass.

A similar name alone is not proposed ("Anna Schmidt" is many people): it needs
a second signal, the same company or the same city. ``contact_verdict`` and
``company_verdict`` turn the evidence of a pair into a confidence (0 to 100)
and its reasons; pairs at ``SURE`` or above are the ones "Merge all sure pairs"
folds together.

Found pairs are written in bulk (new ones inserted with ``core.bulk``, those
found before updated where they changed), so a rescan adds no second row and
keeps a dismissed pair dismissed. Open pairs a scan no longer finds are removed
at its end, as are pairs whose records were deleted for good.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, Exists, Func, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Concat, Substr
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rapidfuzz import fuzz, process

from rapport.accounts.models import Scope, User
from rapport.contacts.models import (
    Address,
    Company,
    Contact,
    ContactEmail,
    DuplicateCandidate,
    DuplicateReason,
    DuplicateStatus,
    DuplicateType,
    Phone,
)
from rapport.core import bulk
from rapport.core.jobs import Progress, job_handler
from rapport.core.models import Job
from rapport.core.permissions import scope_of

SCAN_JOB = "contacts.duplicate_scan"
# Two names at or above this similarity (rapidfuzz ratio, 0 to 100) count as similar.
NAME_SIMILAR = 85
# Pairs at or above this confidence are sure: "Merge all sure pairs" takes them.
SURE = 95
# "Merge all sure pairs" takes no pair below this, whatever it is asked.
LOWEST_SURE = 90
# A key (email, phone, domain) shared by more records than this is skipped.
SHARED_KEY_CAP = 50
# Names are compared within blocks of at most this many records.
BLOCK_CAP = 500
WINDOW_STEP = BLOCK_CAP // 2
READ_CHUNK = 5_000
WRITE_BATCH = 1_000
# Ids per ``IN (…)``, within every SQLite's limit of bound parameters.
IN_BATCH = 500
PROGRESS_EVERY = 25_000

MODELS: dict[str, type[Contact] | type[Company]] = {
    DuplicateType.CONTACT: Contact,
    DuplicateType.COMPANY: Company,
}

# Legal forms and joining words that say nothing about which company it is.
COMPANY_NOISE = frozenset(
    (
        *("ab", "ag", "as", "bv", "co", "company", "corp", "corporation", "cv", "gmbh"),
        *("inc", "incorporated", "kg", "kgaa", "limited", "llc", "llp", "ltd", "mbh"),
        *("nv", "oy", "plc", "sa", "sarl", "sas", "se", "spa", "srl", "ug"),
        *("and", "de", "et", "the", "und", "y"),
    )
)


# Folding names, the same way in Python and in both databases -----------------------------


def _fold_table() -> tuple[str, str]:
    """Latin letters with diacritics and the ASCII letter each folds to, upper and lower
    case both (PostgreSQL's LOWER leaves them alone under the C locale)."""
    extra = {"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "\u0131": "i"}
    source, target = [], []
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = unicodedata.normalize("NFKD", char)[0].lower()
        if char in extra:
            base = extra[char]
        if base != char.lower() and base.isascii() and base.isalpha():
            source.append(char)
            target.append(base)
    return "".join(source), "".join(target)


FOLD_FROM, FOLD_TO = _fold_table()
FOLD = str.maketrans(FOLD_FROM, FOLD_TO)
SQLITE_FOLD = "rapport_fold"


def fold(text: str | None) -> str:
    """``text`` lower-cased with its accented Latin letters made plain, as ``Folded`` does
    in SQL: the blocking key must be the same whichever side computes it."""
    return (text or "").lower().translate(FOLD)


class Folded(Func):
    """``fold`` in SQL: TRANSLATE(LOWER(…)) on PostgreSQL, the Python function on SQLite
    (``register_fold``), which has neither."""

    function = "LOWER"
    output_field = models.CharField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = super().as_sql(compiler, connection, **extra)
        return f"TRANSLATE({sql}, %s, %s)", [*params, FOLD_FROM, FOLD_TO]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return super().as_sql(compiler, connection, function=SQLITE_FOLD, **extra)


def register_fold() -> None:
    """Give this SQLite connection the function ``Folded`` calls."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        connection.connection.create_function(SQLITE_FOLD, 1, fold, deterministic=True)


NOT_A_WORD = re.compile(r"[\W_]+")


@lru_cache(maxsize=100_000)
def comparable(*parts: str, noise: frozenset[str] = frozenset()) -> str:
    """The words of a name, folded, without punctuation or ``noise``: "Ada  Lovelace-King"
    and "ada lovelace king" compare equal. The order stays: sorting the words would put
    "Frías Fulgencio" and "Flgencio Frías" (a typo) far apart. Cached, as first and last
    names repeat a lot over a million records."""
    text = " ".join(part for part in parts if part).casefold()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text.translate(FOLD))
        text = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(word for word in NOT_A_WORD.split(text) if word and word not in noise)


# Evidence and verdicts ----------------------------------------------------------------------


@dataclass
class Evidence:
    """What the scan learnt about one pair of records."""

    shared: set[str] = field(default_factory=set)
    name_score: float | None = None
    same_company: bool = False
    same_city: bool = False


@dataclass(frozen=True)
class Profile:
    """What the verdict needs of one record: its comparable name, company and city."""

    name: str
    company_id: int | None
    city: str


Verdict = tuple[int, list[str]]

# Confidence of a pair sharing a strong key, by how their names compare.
NAME_UNKNOWN, NAME_SAME, NAME_SIMILAR_TIER, NAME_DIFFERENT = "unknown", "same", "similar", "diff"
SHARED_EMAIL_CONFIDENCE = {
    NAME_SAME: 100,
    NAME_SIMILAR_TIER: 97,
    NAME_UNKNOWN: 95,
    NAME_DIFFERENT: 50,
}
SHARED_DOMAIN_CONFIDENCE = {
    NAME_SAME: 100,
    NAME_SIMILAR_TIER: 97,
    NAME_UNKNOWN: 90,
    NAME_DIFFERENT: 50,
}
# A shared phone with different names is a shared line (an office, a family): not proposed.
SHARED_PHONE_CONFIDENCE = {NAME_SAME: 95, NAME_SIMILAR_TIER: 90, NAME_UNKNOWN: 75}
# Similar names backed by a company or a city only: never sure.
NAME_ONLY_FLOOR, NAME_ONLY_SPAN, NAME_ONLY_CEILING = 60, 15, 90
SAME_COMPANY_BONUS, SAME_CITY_BONUS, SECOND_KEY_BONUS = 10, 5, 2


def _name_tier(score: float | None) -> str:
    if score is None:
        return NAME_UNKNOWN
    if score >= 100:
        return NAME_SAME
    return NAME_SIMILAR_TIER if score >= NAME_SIMILAR else NAME_DIFFERENT


NAME_REASONS = {
    NAME_SAME: [DuplicateReason.SAME_NAME],
    NAME_SIMILAR_TIER: [DuplicateReason.SIMILAR_NAME],
    NAME_DIFFERENT: [DuplicateReason.DIFFERENT_NAME],
    NAME_UNKNOWN: [],
}


def _name_only(evidence: Evidence) -> int:
    """Confidence of similar names with a company or city in common: 60 to 90."""
    score = evidence.name_score or 0
    confidence = NAME_ONLY_FLOOR + round(
        (score - NAME_SIMILAR) * NAME_ONLY_SPAN / (100 - NAME_SIMILAR)
    )
    confidence += SAME_COMPANY_BONUS * evidence.same_company + SAME_CITY_BONUS * evidence.same_city
    return min(confidence, NAME_ONLY_CEILING)


def _verdict(evidence: Evidence, tables: Sequence[tuple[str, dict[str, int]]]) -> Verdict | None:
    """The confidence from the first shared key of ``tables`` the pair has (two points
    more for each further one and for a shared company or city), else from the names."""
    tier = _name_tier(evidence.name_score)
    context = [DuplicateReason.SAME_COMPANY] * evidence.same_company + [
        DuplicateReason.SAME_CITY
    ] * evidence.same_city
    keys = [(reason, table) for reason, table in tables if reason in evidence.shared]
    if keys:
        confidence = keys[0][1].get(tier)
        if confidence is None:
            return None
        bonus = SECOND_KEY_BONUS * (len(keys) - 1 + len(context))
        reasons = [reason for reason, _table in keys] + NAME_REASONS[tier] + context
        return min(100, confidence + bonus), reasons
    if tier in (NAME_SAME, NAME_SIMILAR_TIER) and context:
        return _name_only(evidence), NAME_REASONS[tier] + context
    return None


def contact_verdict(evidence: Evidence) -> Verdict | None:
    """Same email: very high (50 when the names differ: a shared mailbox). Same phone and
    a similar name: high. A similar name and the same company or city: medium."""
    tables = [
        (DuplicateReason.SAME_EMAIL, SHARED_EMAIL_CONFIDENCE),
        (DuplicateReason.SAME_PHONE, SHARED_PHONE_CONFIDENCE),
    ]
    return _verdict(evidence, tables)


def company_verdict(evidence: Evidence) -> Verdict | None:
    """Same domain: very high. Same phone and a similar name: high. A similar name and the
    same city: medium."""
    tables = [
        (DuplicateReason.SAME_DOMAIN, SHARED_DOMAIN_CONFIDENCE),
        (DuplicateReason.SAME_PHONE, SHARED_PHONE_CONFIDENCE),
    ]
    return _verdict(evidence, tables)


# What differs between contacts and companies ------------------------------------------------


@dataclass(frozen=True)
class SharedKey:
    """Rows of ``rows`` holding a key (``key``) of a record (``owner``)."""

    reason: str
    rows: Callable[[], models.QuerySet]
    key: str
    owner: str


@dataclass(frozen=True)
class Kind:
    """What the scan reads and compares for one object type."""

    object_type: str
    model: type[Contact] | type[Company]
    shared_keys: tuple[SharedKey, ...]
    # The named live records, with the values ``profile`` reads (in ``fields``' order).
    records: Callable[[], models.QuerySet]
    fields: tuple[str, ...]
    # One blocking key per pass over the records.
    blocks: tuple[Callable[[], models.Expression], ...]
    profile: Callable[[tuple], Profile]
    verdict: Callable[[Evidence], Verdict | None]

    def rows(self, block: Callable[[], models.Expression]) -> models.QuerySet:
        """The records with ``block``, in block order, as tuples ending with the block."""
        return (
            self.records()
            .annotate(block=block())
            .order_by("block", "id")
            .values_list(*self.fields, "block")
        )


def _first_city(owner: str) -> Coalesce:
    cities = Address.objects.filter(**{owner: OuterRef("pk")}).exclude(city="").order_by("id")
    return Coalesce(Subquery(cities.values("city")[:1]), Value(""))


def _prefixes(first: str, first_length: int, second: str) -> Callable[[], Concat]:
    """A block key: the first ``first_length`` letters of the field ``first``, folded, and
    the first letter of ``second``."""

    def key() -> Concat:
        return Concat(
            Folded(Substr(first, 1, first_length)),
            Value("|"),
            Folded(Substr(second, 1, 1)),
            output_field=models.CharField(),
        )

    return key


def _contact_records() -> models.QuerySet:
    return Contact.objects.exclude(first_name="", last_name="").annotate(
        city=_first_city("contact")
    )


def _contact_profile(row: tuple) -> Profile:
    _pk, first, last, company_id, city, _block = row
    return Profile(comparable(first, last), company_id, fold(city).strip())


def _company_records() -> models.QuerySet:
    return Company.objects.exclude(name="").annotate(city=_first_city("company"))


def _company_profile(row: tuple) -> Profile:
    _pk, name, city, _block = row
    return Profile(comparable(name, noise=COMPANY_NOISE), None, fold(city).strip())


KINDS = {
    DuplicateType.CONTACT: Kind(
        object_type=DuplicateType.CONTACT,
        model=Contact,
        shared_keys=(
            SharedKey(
                DuplicateReason.SAME_EMAIL,
                lambda: ContactEmail.objects.filter(contact__deleted_at__isnull=True).exclude(
                    email=""
                ),
                "email",
                "contact_id",
            ),
            SharedKey(
                DuplicateReason.SAME_PHONE,
                lambda: Phone.objects.filter(
                    contact__isnull=False, contact__deleted_at__isnull=True
                ).exclude(number=""),
                "number",
                "contact_id",
            ),
        ),
        records=_contact_records,
        fields=("id", "first_name", "last_name", "company_id", "city"),
        # The second pass finds the slips in the first letters of the last name.
        blocks=(
            _prefixes("last_name", 3, "first_name"),
            _prefixes("first_name", 3, "last_name"),
        ),
        profile=_contact_profile,
        verdict=contact_verdict,
    ),
    DuplicateType.COMPANY: Kind(
        object_type=DuplicateType.COMPANY,
        model=Company,
        shared_keys=(
            SharedKey(
                DuplicateReason.SAME_DOMAIN,
                lambda: Company.objects.exclude(domain=""),
                "domain",
                "id",
            ),
            SharedKey(
                DuplicateReason.SAME_PHONE,
                lambda: Phone.objects.filter(
                    company__isnull=False, company__deleted_at__isnull=True
                ).exclude(number=""),
                "number",
                "company_id",
            ),
        ),
        records=_company_records,
        fields=("id", "name", "city"),
        blocks=(lambda: Folded(Substr("name", 1, 3)),),
        profile=_company_profile,
        verdict=company_verdict,
    ),
}


# The scan -----------------------------------------------------------------------------------

Pair = tuple[int, int]


@dataclass
class ScanResult:
    records: int = 0
    candidates: int = 0
    sure: int = 0
    skipped_keys: int = 0
    windowed_blocks: int = 0
    removed: int = 0


def _ordered(first: int, second: int) -> Pair:
    return (first, second) if first < second else (second, first)


def _shared_key_groups(shared: SharedKey, result: ScanResult) -> Iterator[list[int]]:
    """The records holding each key that two to ``SHARED_KEY_CAP`` records hold."""
    rows = shared.rows()
    held_twice = (
        rows.values(shared.key)
        .annotate(holders=Count(shared.owner, distinct=True))
        .filter(holders__gt=1)
        .values(shared.key)
    )
    members = (
        rows.filter(**{f"{shared.key}__in": held_twice})
        .order_by(shared.key, shared.owner)
        .values_list(shared.key, shared.owner)
    )
    for _key, group in groupby(members.iterator(chunk_size=READ_CHUNK), key=itemgetter(0)):
        ids = sorted({owner for _key, owner in group})
        if len(ids) > SHARED_KEY_CAP:
            result.skipped_keys += 1
        elif len(ids) > 1:
            yield ids


def _in_common(one: Profile, other: Profile) -> tuple[bool, bool]:
    """Whether the two records are at the same company, and in the same city."""
    return (
        one.company_id is not None and one.company_id == other.company_id,
        bool(one.city) and one.city == other.city,
    )


def _windows(size: int) -> range:
    """Starts of the windows of ``BLOCK_CAP`` that cover a block of ``size``, overlapping
    by half, so each record meets its ``WINDOW_STEP`` neighbours on either side."""
    if size <= BLOCK_CAP:
        return range(1)
    return range(0, size - WINDOW_STEP, WINDOW_STEP)


def similar_names(names: Sequence[str]) -> Iterator[tuple[int, int, float]]:
    """``(i, j, score)`` for the names at positions i < j that are at least
    ``NAME_SIMILAR`` alike; ``names`` sorted when larger than ``BLOCK_CAP``."""
    for start in _windows(len(names)):
        window = names[start : start + BLOCK_CAP]
        scores = process.cdist(
            window, window, scorer=fuzz.ratio, score_cutoff=NAME_SIMILAR, workers=1
        )
        # Below the cutoff a score is 0; each pair is there twice, and each name with itself.
        rows, columns = scores.nonzero()
        upper = rows < columns
        rows, columns = rows[upper], columns[upper]
        found = zip(rows.tolist(), columns.tolist(), scores[rows, columns].tolist(), strict=True)
        for i, j, score in found:
            yield start + i, start + j, score


class Scan:
    """One pass over one object type; ``run`` returns what it found and wrote."""

    def __init__(self, kind: Kind, progress: Progress) -> None:
        self.kind = kind
        self.progress = progress
        self.result = ScanResult()
        self.pairs: dict[Pair, Evidence] = {}
        self.profiles: dict[int, Profile] = {}
        # Rows read over every pass, of ``total``: the progress shown.
        self.read = self.total = 0

    def run(self) -> ScanResult:
        started = timezone.now()
        register_fold()
        self.total = self.kind.model.objects.count() * len(self.kind.blocks)
        self.progress(0, self.total)
        for shared in self.kind.shared_keys:
            self._add_shared(shared)
        wanted = {pk for pair in self.pairs for pk in pair}
        for number, block in enumerate(self.kind.blocks):
            records = self._compare_blocks(block, wanted if number == 0 else set())
            self.result.records = self.result.records or records
        self._compare_remaining_names()
        # The names of a million records are no use to the worker once compared.
        comparable.cache_clear()
        self._save(self._verdicts(), found_at=started)
        self._remove_purged()
        self.progress(self.read, max(self.total, self.read))
        return self.result

    def _add_shared(self, shared: SharedKey) -> None:
        for ids in _shared_key_groups(shared, self.result):
            for position, first in enumerate(ids):
                for second in ids[position + 1 :]:
                    self.pairs.setdefault((first, second), Evidence()).shared.add(shared.reason)

    def _compare_blocks(self, block_key: Callable[[], models.Expression], wanted: set[int]) -> int:
        """One pass over the records in the order of ``block_key``, comparing names within
        each block and keeping the profiles of the ``wanted`` records; returns how many
        records it read."""
        records = 0
        rows = self.kind.rows(block_key).iterator(chunk_size=READ_CHUNK)
        for _block, group in groupby(rows, key=itemgetter(-1)):
            block = [(row[0], self.kind.profile(row)) for row in group]
            for pk, profile in block:
                if pk in wanted:
                    self.profiles[pk] = profile
            if len(block) > 1:
                self._compare_block(block)
            records += len(block)
            self.read += len(block)
            if self.read // PROGRESS_EVERY != (self.read - len(block)) // PROGRESS_EVERY:
                self.progress(self.read, max(self.total, self.read))
        return records

    def _compare_block(self, block: list[tuple[int, Profile]]) -> None:
        if len(block) > BLOCK_CAP:
            self.result.windowed_blocks += 1
            block.sort(key=lambda item: item[1].name)
        names = [profile.name for _pk, profile in block]
        for i, j, score in similar_names(names):
            (first, one), (second, other) = block[i], block[j]
            pair = _ordered(first, second)
            evidence = self.pairs.get(pair)
            if evidence is None:
                # Found by its names alone: kept only with a company or city in common.
                same_company, same_city = _in_common(one, other)
                if not (same_company or same_city):
                    continue
                evidence = self.pairs[pair] = Evidence(
                    same_company=same_company, same_city=same_city
                )
            evidence.name_score = score

    def _compare_remaining_names(self) -> None:
        """What the blocks did not tell about pairs sharing a key: their company and city,
        and their names when a block did not hold both (a typo in the first letters, a
        new surname), compared one pair at a time."""
        for (first, second), evidence in self.pairs.items():
            one, other = self.profiles.get(first), self.profiles.get(second)
            if one is None or other is None:
                continue
            evidence.same_company, evidence.same_city = _in_common(one, other)
            if evidence.name_score is None and one.name and other.name:
                evidence.name_score = fuzz.ratio(one.name, other.name)

    def _verdicts(self) -> Iterator[tuple[Pair, Verdict]]:
        for pair, evidence in self.pairs.items():
            verdict = self.kind.verdict(evidence)
            if verdict is not None:
                yield pair, verdict

    def _save(self, verdicts: Iterable[tuple[Pair, Verdict]], found_at: Any) -> None:
        """Bring the pairs of this type up to date: new ones inserted in bulk
        (``core.bulk``: executemany, COPY); one found before keeps its row, id, status
        and ``found_at``, and gets the confidence and reasons found now; an open pair
        not found again (its records changed or went to the trash) is removed."""
        known = self._known_pairs()
        new: list[dict[str, Any]] = []
        changed: list[DuplicateCandidate] = []
        for (low, high), (confidence, reasons) in verdicts:
            codes = [str(reason) for reason in reasons]
            self.result.candidates += 1
            self.result.sure += confidence >= SURE
            before = known.pop((low, high), None)
            if before is None:
                new.append(
                    {
                        "object_type": self.kind.object_type,
                        "low_id": low,
                        "high_id": high,
                        "confidence": confidence,
                        "reasons": codes,
                        "found_at": found_at,
                    }
                )
            elif before[2] != [confidence, codes]:
                changed.append(
                    DuplicateCandidate(pk=before[0], confidence=confidence, reasons=codes)
                )
        for start in range(0, len(new), WRITE_BATCH):
            # One transaction a batch: outside one, SQLite commits every row.
            with transaction.atomic():
                bulk.insert(DuplicateCandidate, new[start : start + WRITE_BATCH])
        DuplicateCandidate.objects.bulk_update(
            changed, ["confidence", "reasons"], batch_size=IN_BATCH
        )
        # What is left of the known pairs was not found again.
        self._remove_open(
            [pk for pk, status, _found in known.values() if status == DuplicateStatus.OPEN]
        )

    def _known_pairs(self) -> dict[Pair, tuple[int, str, list[Any]]]:
        """The pairs of this type found before: ``(id, status, [confidence, reasons])``."""
        rows = DuplicateCandidate.objects.filter(object_type=self.kind.object_type).values_list(
            "pk", "low_id", "high_id", "status", "confidence", "reasons"
        )
        return {
            (low, high): (pk, status, [confidence, reasons])
            for pk, low, high, status, confidence, reasons in rows.iterator(chunk_size=READ_CHUNK)
        }

    def _remove_open(self, ids: list[int]) -> None:
        """Those of the pairs ``ids`` still open (not dismissed or merged meanwhile)."""
        for start in range(0, len(ids), IN_BATCH):
            batch = DuplicateCandidate.objects.filter(pk__in=ids[start : start + IN_BATCH])
            removed, _kinds = batch.filter(status=DuplicateStatus.OPEN).delete()
            self.result.removed += removed

    def _remove_purged(self) -> None:
        """Pairs of records deleted for good, whatever their status."""
        records = self.kind.model.all_objects.all()
        purged = DuplicateCandidate.objects.filter(object_type=self.kind.object_type).filter(
            ~Exists(records.filter(pk=OuterRef("low_id")))
            | ~Exists(records.filter(pk=OuterRef("high_id")))
        )
        removed, _kinds = purged.delete()
        self.result.removed += removed


def scan(object_type: str, progress: Progress | None = None) -> ScanResult:
    """Find the duplicate pairs among the live records of ``object_type`` and bring the
    review queue up to date."""
    return Scan(KINDS[object_type], progress or (lambda done, total: None)).run()


# The job ------------------------------------------------------------------------------------


def may_merge(user: User | None, object_type: str) -> bool:
    return scope_of(user, MODELS[object_type], "merge") != Scope.NONE


def require_merge_right(user: User | None, object_type: str | None = None) -> None:
    """``PermissionDenied`` unless ``user`` may merge records of ``object_type`` (of either
    type when not named): the right the duplicate queue and its jobs ask for."""
    types = [object_type] if object_type else list(MODELS)
    if not any(may_merge(user, name) for name in types):
        raise PermissionDenied


def may_review(request: HttpRequest) -> bool:
    """Whether the signed-in user may see the duplicate queue (the sidebar asks)."""
    return any(may_merge(request.user, name) for name in MODELS)


def clean_scan_params(params: dict[str, Any]) -> dict[str, Any]:
    object_type = params.get("object_type")
    if object_type not in MODELS:
        raise ValidationError(
            {"object_type": [_("Use one of: %(types)s.") % {"types": ", ".join(MODELS)}]}
        )
    return {"object_type": object_type}


@job_handler(SCAN_JOB, authorize=require_merge_right, clean_params=clean_scan_params)
def scan_job(job: Job, progress: Progress) -> dict[str, Any]:
    object_type = job.params["object_type"]
    require_merge_right(job.owner, object_type)
    result = scan(object_type, progress)
    message = ngettext(
        "%(count)d possible duplicate pair found (%(sure)d sure) among %(records)d records.",
        "%(count)d possible duplicate pairs found (%(sure)d sure) among %(records)d records.",
        result.candidates,
    ) % {"count": result.candidates, "sure": result.sure, "records": result.records}
    if result.skipped_keys:
        message += " " + ngettext(
            "%(count)d address, number or domain shared by too many records was left out.",
            "%(count)d addresses, numbers or domains shared by too many records were left out.",
            result.skipped_keys,
        ) % {"count": result.skipped_keys}
    return {
        "records": result.records,
        "candidates": result.candidates,
        "sure": result.sure,
        "skipped_keys": result.skipped_keys,
        "windowed_blocks": result.windowed_blocks,
        "removed": result.removed,
        "message": message,
    }
