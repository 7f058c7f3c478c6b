"""The forecast, metrics and quota pages. Thin: parse the filter form, call
``sales.forecasting`` / ``sales.metrics``, shape the charts, render."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.accounts.models import Team, User
from rapport.core.actors import Actor
from rapport.core.forms import apply_service_errors
from rapport.sales import forecasting, metrics
from rapport.sales.charts import Value, bar_chart
from rapport.sales.forms import DATE_WIDGET
from rapport.sales.models import PeriodKind, Pipeline, Quota
from rapport.sales.money import decimal_places
from rapport.sales.periods import add_months, period_of
from rapport.sales.templatetags.money import amount

QUOTA_PAGE_SIZE = 50


class ScopeForm(forms.Form):
    """Whose deals: an owner, a team, a pipeline (all the reader may see when empty)."""

    owner = forms.ModelChoiceField(
        label=gettext_lazy("Owner"), queryset=User.objects.filter(is_active=True), required=False
    )
    team = forms.ModelChoiceField(
        label=gettext_lazy("Team"), queryset=Team.objects.all(), required=False
    )
    pipeline = forms.ModelChoiceField(
        label=gettext_lazy("Pipeline"), queryset=Pipeline.objects.all(), required=False
    )
    period = forms.ChoiceField(
        label=gettext_lazy("Period"), choices=PeriodKind.choices, required=False
    )

    def scope(self) -> dict[str, Any]:
        data = self.cleaned_data
        owner = data.get("owner")
        return {
            "owners": [owner] if owner else [],
            "team": data.get("team"),
            "pipeline": data.get("pipeline"),
            "kind": data.get("period") or PeriodKind.MONTH,
        }


class ForecastForm(ScopeForm):
    start = forms.DateField(label=gettext_lazy("From"), widget=DATE_WIDGET, required=False)
    count = forms.IntegerField(
        label=gettext_lazy("Periods"),
        min_value=1,
        max_value=forecasting.MAX_PERIODS,
        required=False,
    )


class MetricsForm(ScopeForm):
    start = forms.DateField(label=gettext_lazy("From"), widget=DATE_WIDGET, required=False)
    end = forms.DateField(
        label=gettext_lazy("Until (not included)"), widget=DATE_WIDGET, required=False
    )


def _money(value: Any, places: int) -> str:
    return amount(value, places) if value is not None else "—"


def _forecast_chart(result: forecasting.Forecast, places: int) -> Any:
    predicted = {item.period: item for item in result.statistical.predicted}
    groups = []
    for figures in result.periods:
        values = [
            Value(
                figures.closed_won, "won", _("Closed won: %s") % _money(figures.closed_won, places)
            ),
            Value(
                figures.weighted,
                "weighted",
                _("Weighted pipeline: %s") % _money(figures.weighted, places),
            ),
        ]
        if figures.period in predicted:
            item = predicted[figures.period]
            title = _("Statistical forecast: %(mean)s (%(low)s to %(high)s)") % {
                "mean": _money(item.mean, places),
                "low": _money(item.lower, places),
                "high": _money(item.upper, places),
            }
            values.append(Value(item.mean, "statistical", title, low=item.lower, high=item.upper))
        groups.append((figures.period.label, values))
    return bar_chart(groups)


@login_required
def forecast_page(request: HttpRequest) -> HttpResponse:
    form = ForecastForm(request.GET)
    result = None
    if form.is_valid():
        try:
            result = forecasting.forecast(
                request.user,
                start=form.cleaned_data["start"] or timezone.localdate(),
                count=form.cleaned_data["count"] or 3,
                **form.scope(),
            )
        except ValidationError as error:
            apply_service_errors(form, error)
    places = decimal_places(result.currency) if result else 2
    return render(
        request,
        "sales/forecast.html",
        {
            "form": form,
            "result": result,
            "places": places,
            "chart": _forecast_chart(result, places) if result else None,
            "can_set_quotas": forecasting.can_set_quotas(request.user),
        },
    )


def _metrics_chart(result: metrics.Metrics, places: int) -> Any:
    return bar_chart(
        [
            (
                period.label,
                [
                    Value(
                        outcome.won_amount,
                        "won",
                        _("%(period)s: %(amount)s won in %(count)d deals")
                        % {
                            "period": period.label,
                            "amount": _money(outcome.won_amount, places),
                            "count": outcome.won,
                        },
                    )
                ],
            )
            for period, outcome in result.by_period
        ]
    )


@login_required
def metrics_page(request: HttpRequest) -> HttpResponse:
    form = MetricsForm(request.GET)
    result = None
    if form.is_valid():
        today = timezone.localdate()
        end = form.cleaned_data["end"] or add_months(today, 1)
        start = form.cleaned_data["start"] or add_months(end, -12)
        try:
            result = metrics.sales_metrics(request.user, start=start, end=end, **form.scope())
        except ValidationError as error:
            apply_service_errors(form, error)
    places = decimal_places(result.currency) if result else 2
    return render(
        request,
        "sales/metrics.html",
        {
            "form": form,
            "result": result,
            "places": places,
            "chart": _metrics_chart(result, places) if result else None,
        },
    )


# Quotas


class QuotaForm(forms.Form):
    user = forms.ModelChoiceField(
        label=gettext_lazy("User"), queryset=User.objects.filter(is_active=True)
    )
    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=PeriodKind.choices)
    period_start = forms.DateField(label=gettext_lazy("Any day of the period"), widget=DATE_WIDGET)
    amount = forms.DecimalField(label=gettext_lazy("Quota"), min_value=0, decimal_places=2)


@login_required
def quota_page(request: HttpRequest) -> HttpResponse:
    """Quotas of the coming periods; admins and sales managers set them."""
    if not forecasting.can_set_quotas(request.user):
        raise PermissionDenied
    form = QuotaForm(
        request.POST or None,
        initial={"period": PeriodKind.MONTH, "period_start": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            forecasting.quota_set(actor=Actor.for_request(request), **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Quota saved."))
            return redirect("sales:quotas")
    since = period_of(PeriodKind.QUARTER, timezone.localdate()).start
    listed = (
        Quota.objects.filter(period_start__gte=since)
        .select_related("user")
        .order_by("period_start", "user__email")[:QUOTA_PAGE_SIZE]
    )
    return render(request, "sales/quotas.html", {"form": form, "quotas": listed, "since": since})
