"""Merge fields in an email's subject and text: ``{{ contact.first_name }}``, rendered safely.

A text may hold only merge fields (``{{ contact.first_name }}``), optionally with a
fallback (``{{ contact.first_name|default:"there" }}``). Any tag (``{% if %}``), any
other filter and any field outside ``MERGE_FIELDS`` is refused by ``merge_errors``,
which the services call when a template is saved and again before an email is
sent. Rendering then goes through a Django template engine that knows no tag and
no filter but ``default``, with autoescaping off (the text is plain text), over a
context of plain dicts of strings: never a model instance, so a merge field can
reach no method, relation or attribute beyond the values listed here. A value the
record lacks renders empty (or as its fallback).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from django import template
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, Lexer, Parser, TokenType, Variable
from django.template.defaultfilters import default as default_filter
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from rapport.accounts.models import User
    from rapport.contacts.models import Company, Contact

# The values a text may use, by object: every one a plain string.
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "contact": (
        "prefix",
        "first_name",
        "middle_name",
        "last_name",
        "suffix",
        "full_name",
        "email",
        "phone",
        "job_title",
    ),
    "company": ("name", "domain", "website", "phone", "industry"),
    "sender": ("first_name", "last_name", "full_name", "email"),
}
ALLOWED_FILTER = "default"

# The one filter the rendering engine knows (``_MergeEngine``).
register = template.Library()
register.filter(ALLOWED_FILTER, default_filter)


def field_names() -> list[str]:
    """Every merge field, as written between the braces: ``contact.first_name``."""
    return [
        f"{name}.{attribute}"
        for name, attributes in MERGE_FIELDS.items()
        for attribute in attributes
    ]


class _Inspector(Parser):
    """Parses one ``{{ … }}`` with every filter name accepted, so the check can name the
    ones that are not allowed instead of stopping at the first."""

    def __init__(self) -> None:
        super().__init__([])
        self.filter_names: list[str] = []

    def find_filter(self, filter_name: str) -> Any:
        self.filter_names.append(filter_name)
        # The real one for ``default``, so a missing argument is caught.
        return default_filter if filter_name == ALLOWED_FILTER else _any_filter


def _any_filter(value: Any, arg: Any = None) -> Any:
    return value


@dataclass
class _Findings:
    fields: list[str]
    filters: list[str]
    tags: list[str]
    malformed: list[str]

    def errors(self) -> list[str]:
        found = []
        if self.tags:
            found.append(
                _(
                    "Only merge fields such as {{ contact.first_name }} may be used, not "
                    "tags: %(tags)s."
                )
                % {"tags": ", ".join(_distinct(self.tags))}
            )
        if self.fields:
            found.append(
                _("Unknown merge fields: %(fields)s. Use one of: %(known)s.")
                % {"fields": ", ".join(_distinct(self.fields)), "known": ", ".join(field_names())}
            )
        if self.filters:
            found.append(
                _('Unknown filters: %(filters)s. Only |default:"…" may follow a merge field.')
                % {"filters": ", ".join(_distinct(self.filters))}
            )
        if self.malformed:
            found.append(
                _("Not a merge field: %(texts)s.") % {"texts": ", ".join(_distinct(self.malformed))}
            )
        return found


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _is_known(variable: Variable | str) -> bool:
    """Whether a parsed value is a literal ("text", 3) or one of the merge fields."""
    if not isinstance(variable, Variable) or variable.lookups is None:
        return True
    if len(variable.lookups) != 2:
        return False
    name, attribute = variable.lookups
    return attribute in MERGE_FIELDS.get(name, ())


def _check_variable(contents: str, findings: _Findings) -> None:
    inspector = _Inspector()
    try:
        if not contents:
            raise TemplateSyntaxError("empty")
        expression = FilterExpression(contents, inspector)
    except TemplateSyntaxError:
        findings.malformed.append("{{ " + contents + " }}")
        return
    if not _is_known(expression.var):
        findings.fields.append(str(expression.var))
    findings.filters += [name for name in inspector.filter_names if name != ALLOWED_FILTER]
    for _function, arguments in expression.filters:
        for _is_lookup, argument in arguments:
            if not _is_known(argument):
                findings.fields.append(str(argument))


def merge_errors(text: str) -> list[str]:
    """What keeps ``text`` from being a safe merge template; empty when it is one."""
    findings = _Findings([], [], [], [])
    for token in Lexer(text).tokenize():
        if token.token_type == TokenType.BLOCK:
            findings.tags.append("{% " + (token.contents.split() or [""])[0] + " %}")
        elif token.token_type == TokenType.VAR:
            _check_variable(token.contents, findings)
    errors = findings.errors()
    if not errors:
        try:
            _engine().from_string(text)
        except TemplateSyntaxError:
            # Whatever the checks above let through, the engine must still compile.
            errors.append(_("This text cannot be read as a template with merge fields."))
    return errors


class _MergeEngine(Engine):
    """An engine whose only built-in is this module's ``default`` filter: not one tag."""

    default_builtins = [__name__]


@cache
def _engine() -> Engine:
    return _MergeEngine(autoescape=False, libraries={})


def render(text: str, values: Mapping[str, Mapping[str, str]]) -> str:
    """``text`` with its merge fields filled from ``values`` (see ``merge_values``).
    Only call it on a text ``merge_errors`` accepts."""
    if "{" not in text:
        return text
    return _engine().from_string(text).render(Context(dict(values), autoescape=False))


def merge_values(
    *, contact: Contact, sender: User | None, to: str | None = None
) -> dict[str, dict[str, str]]:
    """The merge fields' values for an email to ``contact`` (at ``to``) from ``sender``:
    plain strings copied from the records, so rendering touches nothing else."""
    company: Company | None = contact.company
    return {
        "contact": {
            "prefix": contact.prefix,
            "first_name": contact.first_name,
            "middle_name": contact.middle_name,
            "last_name": contact.last_name,
            "suffix": contact.suffix,
            "full_name": contact.full_name,
            "email": to or contact.email,
            "phone": contact.phone,
            "job_title": contact.job_title,
        },
        "company": {
            "name": company.name if company else "",
            "domain": company.domain if company else "",
            "website": company.website if company else "",
            "phone": company.phone if company else "",
            "industry": company.industry if company else "",
        },
        "sender": {
            "first_name": sender.first_name if sender else "",
            "last_name": sender.last_name if sender else "",
            "full_name": sender.get_full_name() if sender else "",
            "email": sender.email if sender else "",
        },
    }
