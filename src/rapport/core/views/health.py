"""``/health``: the system's state as JSON for load balancers and monitoring."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from rapport.core import health as system_health


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """200 while Rapport can serve (ok or degraded), 503 when it cannot; no login needed."""
    report = system_health.report()
    return JsonResponse(report, status=503 if report["status"] == "down" else 200)
