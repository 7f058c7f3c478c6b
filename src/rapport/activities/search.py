"""What global search knows of activities: their subject and text (registered with
``core.search``), so "that call about the renewal" can be found again. A hit opens
the activity's page; search shows only activities the user may see."""

from __future__ import annotations

from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from rapport.activities.models import Activity
from rapport.core import search


def activity_text(activity: Activity) -> list[str]:
    return [activity.subject, activity.body]


def activities_text(pks: list[int]) -> dict[int, list[str]]:
    """``activity_text`` of many activities, read as plain values (for ``search.reindex``)."""
    rows = Activity.all_objects.filter(pk__in=pks).values_list("pk", "subject", "body")
    return {pk: [subject, body] for pk, subject, body in rows}


def _subtitle(activity: Activity) -> str:
    when = formats.date_format(timezone.localtime(activity.occurred_at), "DATE_FORMAT")
    return f"{activity.get_kind_display()} · {when}"


search.register(
    Activity,
    label=_("Activities"),
    text=activity_text,
    title=str,
    subtitle=_subtitle,
    url=lambda activity: activity.get_absolute_url(),
    bulk_text=activities_text,
)
