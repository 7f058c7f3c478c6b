"""Global search: one full-text index over every object type that registers.

A domain registers a model with the text to index and how to show a hit
(``register``); its services call ``index(obj)`` after every save and
``remove(obj)`` on purge, inside the writing transaction, so the index never
disagrees with committed data. ``search`` answers the header box and the API,
grouped by type and scoped by ``core.permissions``; ``filter_queryset`` narrows
a queryset to every match (the API and exports), ``first_matching_ids`` to a
bounded candidate set (a list page's quick search).

The index is the ``SearchEntry`` table: one row per record, its words folded
to lower-case ASCII where possible, plus the record's owner and team so
permission scopes apply before the top hits are picked. The full-text part
depends on the database (migration ``core.0003_search``):

- SQLite: an FTS5 table with prefix indexes of 2 and 3 characters, so
  type-ahead prefixes stay fast; triggers keep it in step with the table.
- PostgreSQL: a generated ``tsvector`` column with a GIN index, queried with
  ``:*`` prefixes.

Every query word is a prefix ("ann" finds "Annabel"); all words must match.
When nothing matches, each longer word also matches the indexed words close
to it (``SearchTerm``): those one edit away on SQLite, those pg_trgm finds
similar on PostgreSQL, so "Jhonson" finds "Johnson". Queries are tokenised
here and every word is quoted, so no input reaches the search syntax as an
operator: quotes, ``AND``/``NEAR(``, ``*``, emoji or 10 KB of text give
results or none, never an error. Hits are not ranked: ranking every match of
a broad prefix costs hundreds of milliseconds at a million records.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, models, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils.functional import Promise

from rapport.accounts.models import Scope
from rapport.core import bulk
from rapport.core.models import SearchEntry, SearchTerm
from rapport.core.permissions import (
    mask_hidden_fields,
    object_type,
    scope,
    scope_filter,
    scope_of,
    shared_ids,
)

if TYPE_CHECKING:
    from rapport.accounts.models import User

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 8
# A one-letter prefix matches a large part of the index and has no prefix index.
MIN_WORD_LENGTH = 2
MAX_TEXT_CHARS = 10_000
# Shorter words have too many neighbours one typo away to guess from.
MIN_TYPO_LENGTH = 4
MAX_TERM_LENGTH = 40
ALTERNATIVES_PER_WORD = 5
MAX_TYPO_DISTANCE = 2
LATIN_LETTERS = "abcdefghijklmnopqrstuvwxyz"

_WORD = re.compile(r"[^\W_]+")
# The accents NFKD splits off letters (é → e + ◌́), dropped so "Müller" matches "muller".
_COMBINING_MARK = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Digits with the punctuation people write phone numbers with: "+49 (30) 123-456".
_PHONE_LIKE = re.compile(r"\+?[\d\s().\-/]+")
MIN_PHONE_DIGITS = 3


@dataclass(frozen=True)
class Hit:
    title: str
    subtitle: str
    url: str
    object_type: str = ""
    object_id: int | None = None


@dataclass(frozen=True)
class Group:
    key: str
    label: str | Promise
    hits: list[Hit]


@dataclass(frozen=True)
class Registration:
    model: type[models.Model]
    label: str | Promise
    text: Callable[[Any], list[str]]
    title: Callable[[Any], str]
    subtitle: Callable[[Any], str]
    url: Callable[[Any], str]
    queryset: Callable[[], models.QuerySet]
    dependents: Callable[[Any], models.QuerySet] | None
    bulk_text: Callable[[list[Any]], dict[Any, list[str]]] | None

    @property
    def key(self) -> str:
        return object_type(self.model)


_REGISTRY: dict[str, Registration] = {}


def register(
    model: type[models.Model],
    *,
    text: Callable[[Any], list[str]],
    title: Callable[[Any], str],
    subtitle: Callable[[Any], str],
    url: Callable[[Any], str],
    label: str | Promise,
    queryset: Callable[[], models.QuerySet] | None = None,
    dependents: Callable[[Any], models.QuerySet] | None = None,
    bulk_text: Callable[[list[Any]], dict[Any, list[str]]] | None = None,
) -> None:
    """Make ``model`` searchable; groups appear in registration order.

    ``text`` gives the strings to index; ``queryset`` the live records with what
    ``text``, ``title`` and ``subtitle`` read loaded (``select_related``…);
    ``dependents`` the records of another registered type whose text includes
    this one's (a company's contacts carry its name), indexed again when this
    record's text changes.
    """
    _REGISTRY[object_type(model)] = Registration(
        model=model,
        label=label,
        text=text,
        title=title,
        subtitle=subtitle,
        url=url,
        queryset=queryset or model._default_manager.all,
        dependents=dependents,
        bulk_text=bulk_text,
    )


def registrations() -> list[Registration]:
    return list(_REGISTRY.values())


# Words


def words(text: str) -> list[str]:
    """The lower-case, accent-free words of ``text``: what the index holds and queries match."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _COMBINING_MARK.sub("", unicodedata.normalize("NFKD", folded))
    return _WORD.findall(folded)


def query_words(query: str) -> list[str]:
    """The words to look up for what a user typed: at most ``MAX_QUERY_WORDS``.

    A query that looks like a phone number becomes its digits, one word, so
    "030 1234 56" and "+49 30 123456" match the digit forms the index holds.
    """
    query = query[:MAX_QUERY_CHARS].strip()
    if _PHONE_LIKE.fullmatch(query):
        digits = "".join(char for char in query if char.isdigit())
        if len(digits) >= MIN_PHONE_DIGITS:
            return [digits]
    found = [word for word in words(query) if len(word) >= MIN_WORD_LENGTH]
    return list(dict.fromkeys(found))[:MAX_QUERY_WORDS]


def _folded(texts: list[str]) -> str:
    """The index text of a record: its distinct words, in order, space-separated."""
    found = words(" ".join(part for part in texts if part))
    return " ".join(dict.fromkeys(found))[:MAX_TEXT_CHARS]


def _typo_candidates(text: str) -> set[str]:
    return {
        word
        for word in text.split()
        if word.isalpha() and MIN_TYPO_LENGTH <= len(word) <= MAX_TERM_LENGTH
    }


# Writing the index


def _entry(registration: Registration, obj: models.Model) -> SearchEntry:
    return SearchEntry(
        object_type=registration.key,
        object_id=obj.pk,
        owner_id=getattr(obj, "owner_id", None),
        team_id=getattr(obj, "team_id", None),
        text=_folded(registration.text(obj)),
    )


def _remember_terms(terms: Iterable[str]) -> None:
    SearchTerm.objects.bulk_create(
        [SearchTerm(term=term) for term in sorted(terms)], ignore_conflicts=True
    )


def index(obj: models.Model) -> None:
    """Bring ``obj``'s entry up to date: call after every save, in the writing transaction.

    A record outside its registered queryset (in the trash) has no entry; nor has
    a model that did not register."""
    registration = _REGISTRY.get(object_type(obj))
    if registration is None:
        return
    # Read the record again: the caller's copy may hold related rows prefetched before
    # the write (its old emails, say).
    saved = registration.queryset().filter(pk=obj.pk).first()
    if saved is None:
        remove(obj)
        return
    entry = _entry(registration, saved)
    current = SearchEntry.objects.filter(object_type=entry.object_type, object_id=obj.pk).first()
    if current is None:
        entry.save()
    elif (current.text, current.owner_id, current.team_id) == (
        entry.text,
        entry.owner_id,
        entry.team_id,
    ):
        return
    else:
        SearchEntry.objects.filter(pk=current.pk).update(
            text=entry.text, owner_id=entry.owner_id, team_id=entry.team_id
        )
    _remember_terms(_typo_candidates(entry.text))
    if current is not None and current.text != entry.text and registration.dependents:
        _index_again(registration.dependents(saved))


def remove(obj: models.Model) -> None:
    """Drop ``obj``'s entry: call when it is purged (``index`` drops trashed records itself)."""
    SearchEntry.objects.filter(object_type=object_type(obj), object_id=obj.pk).delete()


def _keys(queryset: models.QuerySet, size: int) -> Iterator[list[tuple[Any, Any, Any]]]:
    """``(pk, owner_id, team_id)`` of the records ``queryset`` selects, ``size`` at a time
    in primary-key order (owner and team ``None`` for models without them)."""
    attnames = {field.attname for field in queryset.model._meta.concrete_fields}
    owned = {"owner_id", "team_id"} <= attnames
    keys = queryset.prefetch_related(None).order_by("pk")
    keys = keys.values_list("pk", "owner_id", "team_id") if owned else keys.values_list("pk")
    last = None
    while True:
        rows = list((keys if last is None else keys.filter(pk__gt=last))[:size])
        if not rows:
            return
        yield [row if owned else (row[0], None, None) for row in rows]
        last = rows[-1][0]


def _texts(registration: Registration, pks: list[Any]) -> dict[Any, list[str]]:
    if registration.bulk_text:
        return registration.bulk_text(pks)
    records = registration.queryset().filter(pk__in=pks)
    return {obj.pk: registration.text(obj) for obj in records}


def _entry_rows(registration: Registration, keys: list[tuple[Any, Any, Any]]) -> list[dict]:
    texts = _texts(registration, [pk for pk, _owner, _team in keys])
    return [
        {
            "object_type": registration.key,
            "object_id": pk,
            "owner_id": owner_id,
            "team_id": team_id,
            "text": _folded(texts.get(pk, [])),
        }
        for pk, owner_id, team_id in keys
    ]


def _terms_of(rows: list[dict]) -> set[str]:
    return set().union(*(_typo_candidates(row["text"]) for row in rows))


def _index_again(queryset: models.QuerySet, *, batch: int = 1000) -> None:
    """Rewrite the entries of the records ``queryset`` selects."""
    registration = _REGISTRY[object_type(queryset.model)]
    for keys in _keys(queryset, batch):
        rows = _entry_rows(registration, keys)
        SearchEntry.objects.bulk_create(
            [SearchEntry(**row) for row in rows],
            update_conflicts=True,
            unique_fields=["object_type", "object_id"],
            update_fields=["text", "owner_id", "team_id"],
        )
        _remember_terms(_terms_of(rows))


def index_new(model: type[models.Model], pks: list[Any]) -> None:
    """Add the entries of records just created in bulk, in the writing transaction."""
    registration = _REGISTRY.get(object_type(model))
    if registration is None or not pks:
        return
    keys = list(_keys(registration.queryset().filter(pk__in=pks), len(pks)))
    if keys:
        rows = _entry_rows(registration, keys[0])
        bulk.insert(SearchEntry, rows)
        _remember_terms(_terms_of(rows))


def reindex(model: type[models.Model], *, batch: int = 5000) -> int:
    """Rebuild the entries of every live record of ``model``; returns how many.

    For loads that write rows without the services (imports, demo data)."""
    registration = _REGISTRY[object_type(model)]
    count = 0
    terms: set[str] = set()
    with transaction.atomic():
        SearchEntry.objects.filter(object_type=registration.key).delete()
        for keys in _keys(registration.queryset(), batch):
            rows = _entry_rows(registration, keys)
            count += bulk.insert(SearchEntry, rows)
            new_terms = _terms_of(rows) - terms
            _remember_terms(new_terms)
            terms |= new_terms
    return count


# Reading the index


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _expression(query: list[str], alternatives: dict[str, list[str]] | None = None) -> str:
    """The full-text query: every word as a quoted prefix, or one of its close terms."""
    alternatives = alternatives or {}
    if _postgresql():
        parts = [
            " | ".join([f"'{word}':*", *(f"'{term}'" for term in alternatives.get(word, []))])
            for word in query
        ]
        return " & ".join(f"({part})" for part in parts)
    parts = [
        " OR ".join([f'"{word}"*', *(f'"{term}"' for term in alternatives.get(word, []))])
        for word in query
    ]
    return " AND ".join(f"({part})" for part in parts)


def _matching_ids(
    entries: models.QuerySet[SearchEntry], expression: str, limit: int | None = None
) -> RawSQL:
    """The ``object_id`` of the ``entries`` that match, for a ``pk__in`` filter.

    Both databases need the query shaped by hand. SQLite: the full-text table
    must drive the join, so its matches stream in rowid order and the LIMIT stops
    them early; left to itself the planner scans every entry of the type and
    tests each one. PostgreSQL: behind a LIMIT the planner bets on a sequential
    scan finding matches early, and loses on a rare word (400 ms at a million
    entries); in a MATERIALIZED CTE it plans the match for all rows, with the
    GIN index, and the LIMIT outside still stops the reading early."""
    query = entries.query
    where, params = query.get_compiler(connection=connection).compile(query.where)
    table = connection.ops.quote_name(SearchEntry._meta.db_table)
    if _postgresql():
        sql = (
            f"SELECT {table}.object_id FROM {table} "
            f"WHERE {table}.document @@ to_tsquery('simple', %s) AND {where}"
        )
        if limit is not None:
            sql = f"WITH matching AS MATERIALIZED ({sql}) SELECT object_id FROM matching LIMIT %s"
    else:
        sql = (
            f"SELECT {table}.object_id FROM core_search_fts CROSS JOIN {table} "
            f"ON {table}.id = core_search_fts.rowid "
            f"WHERE core_search_fts MATCH %s AND {where}"
        )
        if limit is not None:
            sql += " LIMIT %s"
    return RawSQL(sql, [expression, *params, *([] if limit is None else [limit])])


def _edits(word: str) -> set[str]:
    """Every string one deletion, swap of neighbours, replacement or insertion from ``word``."""
    letters = set(LATIN_LETTERS) | set(word)
    splits = [(word[:cut], word[cut:]) for cut in range(len(word) + 1)]
    deletions = {left + right[1:] for left, right in splits if right}
    swaps = {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    replacements = {
        left + letter + right[1:] for left, right in splits if right for letter in letters
    }
    insertions = {left + letter + right for left, right in splits for letter in letters}
    return (deletions | swaps | replacements | insertions) - {word}


def _distance(first: str, second: str) -> int:
    """Edits (insert, delete, replace, swap neighbours) between two words."""
    previous2: list[int] = []
    previous = list(range(len(second) + 1))
    for row, left in enumerate(first, start=1):
        current = [row]
        for column, right in enumerate(second, start=1):
            cost = min(
                previous[column] + 1,
                current[column - 1] + 1,
                previous[column - 1] + (left != right),
            )
            if row > 1 and column > 1 and left == second[column - 2] and first[row - 2] == right:
                cost = min(cost, previous2[column - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def _close_terms(query: list[str]) -> dict[str, list[str]]:
    """Indexed words close to each longer query word, closest first."""
    typo_words = [
        word for word in query if word.isalpha() and MIN_TYPO_LENGTH <= len(word) <= MAX_TERM_LENGTH
    ]
    found: dict[str, list[str]] = {}
    if _postgresql():
        with connection.cursor() as cursor:
            for word in typo_words:
                cursor.execute(
                    "SELECT term FROM core_searchterm WHERE term %% %s "
                    "ORDER BY similarity(term, %s) DESC, term LIMIT %s",
                    [word, word, ALTERNATIVES_PER_WORD * 2],
                )
                found[word] = [row[0] for row in cursor.fetchall()]
    elif typo_words:
        variants = {word: _edits(word) for word in typo_words}
        known = set(
            SearchTerm.objects.filter(term__in=set().union(*variants.values())).values_list(
                "term", flat=True
            )
        )
        found = {word: sorted(variants[word] & known) for word in typo_words}
    close = {
        word: sorted(
            (term for term in terms if term != word and _distance(word, term) <= MAX_TYPO_DISTANCE),
            key=lambda term: (_distance(word, term), term),
        )[:ALTERNATIVES_PER_WORD]
        for word, terms in found.items()
    }
    return {word: terms for word, terms in close.items() if terms}


def _visible_entries(registration: Registration, user: User) -> models.QuerySet[SearchEntry] | None:
    """The entries of one type within the user's view scope; ``None`` when they see none."""
    granted = scope_of(user, registration.model, "view")
    shared = None if granted == Scope.ALL else shared_ids(user, registration.model, "view")
    if granted == Scope.NONE and shared is None:
        return None
    entries = SearchEntry.objects.filter(object_type=registration.key)
    condition = Q(pk__in=[]) if granted == Scope.NONE else scope_filter(user, granted)
    if shared is not None:
        # Records shared with the user are found too, as ``permissions.scope`` sees them.
        condition = (condition or Q(pk__in=[])) | Q(object_id__in=shared)
    return entries if condition is None else entries.filter(condition)


def _hits(registration: Registration, user: User, expression: str, limit: int) -> list[Hit]:
    entries = _visible_entries(registration, user)
    if entries is None:
        return []
    ids = _matching_ids(entries, expression, limit)
    # Prefetches serve indexing; showing a hit needs only the row and its joins.
    records = registration.queryset().prefetch_related(None).filter(pk__in=ids)
    records = scope(records, user, "view")
    # A subtitle shows no field the reader's role hides.
    shown = [mask_hidden_fields(user, obj) for obj in records]
    return [
        Hit(
            title=registration.title(obj),
            subtitle=registration.subtitle(obj),
            url=registration.url(obj),
            object_type=registration.key,
            object_id=obj.pk,
        )
        for obj in shown
    ]


def _groups(user: User, expression: str, limit: int) -> list[Group]:
    groups = []
    for registration in _REGISTRY.values():
        hits = _hits(registration, user, expression, limit)
        if hits:
            groups.append(Group(key=registration.key, label=registration.label, hits=hits))
    return groups


def search(user: User | None, query: str, *, limit_per_type: int = 8) -> list[Group]:
    """What ``user`` may see that matches ``query``: up to ``limit_per_type`` hits per type."""
    query_list = query_words(query)
    if user is None or not query_list:
        return []
    groups = _groups(user, _expression(query_list), limit_per_type)
    if not groups:
        alternatives = _close_terms(query_list)
        if alternatives:
            groups = _groups(user, _expression(query_list, alternatives), limit_per_type)
    return groups


def filter_queryset(queryset: models.QuerySet, query: str) -> models.QuerySet:
    """``queryset`` narrowed to the records matching ``query`` (a list page's quick search).

    A query without a searchable word matches nothing."""
    query_list = query_words(query)
    if not query_list:
        return queryset.none()
    entries = SearchEntry.objects.filter(object_type=object_type(queryset.model))
    matching = queryset.filter(pk__in=_matching_ids(entries, _expression(query_list)))
    if not matching.exists():
        alternatives = _close_terms(query_list)
        if alternatives:
            expression = _expression(query_list, alternatives)
            matching = queryset.filter(pk__in=_matching_ids(entries, expression))
    return matching


def first_matching_ids(
    model: type[models.Model], user: User | None, query: str, *, limit: int
) -> list[Any]:
    """Up to ``limit`` ids of ``model`` records ``user`` may see that match ``query`` (with
    the typo fallback), in index order: the bounded candidate set of a list page's quick
    search, so a broad prefix costs ``limit`` row lookups rather than one per match."""
    registration = _REGISTRY.get(object_type(model))
    query_list = query_words(query)
    entries = _visible_entries(registration, user) if registration and user else None
    if entries is None or not query_list:
        return []
    ids = _fetch_ids(_matching_ids(entries, _expression(query_list), limit))
    if not ids:
        alternatives = _close_terms(query_list)
        if alternatives:
            expression = _expression(query_list, alternatives)
            ids = _fetch_ids(_matching_ids(entries, expression, limit))
    return ids


def _fetch_ids(matching: RawSQL) -> list[Any]:
    with connection.cursor() as cursor:
        cursor.execute(matching.sql, matching.params)
        return [row[0] for row in cursor.fetchall()]


def forget_terms(texts: Iterable[str]) -> int:
    """Drop the words of ``texts`` from the typo vocabulary where no index entry holds
    them any more (after an erasure), so it keeps no word of a forgotten person. One
    index lookup a word; how many words went."""
    table = connection.ops.quote_name(SearchEntry._meta.db_table)
    if _postgresql():
        sql = f"SELECT 1 FROM {table} WHERE document @@ to_tsquery('simple', %s) LIMIT 1"
        quoted = "'{}'"
    else:
        sql = "SELECT 1 FROM core_search_fts WHERE core_search_fts MATCH %s LIMIT 1"
        quoted = '"{}"'
    unused = []
    with connection.cursor() as cursor:
        for word in sorted({word for text in texts for word in words(text)}):
            cursor.execute(sql, [quoted.format(word)])
            if cursor.fetchone() is None:
                unused.append(word)
    deleted, _by_model = SearchTerm.objects.filter(term__in=unused).delete()
    return deleted
