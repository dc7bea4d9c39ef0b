"""Campaign pages: the partner writes a campaign (preview, then send) and follows it; the county decides the big ones."""

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partners.access import county_manager_required, station_required

from . import selectors, services, texts
from .forms import CampaignForm, RefuseForm
from .models import Campaign, Recipient

S = Campaign.Status
LIST_LIMIT = 100


def _with_counts(campaigns):
    # One query for the page: the counts are aggregated beside each campaign, not asked per row.
    return campaigns.annotate(
        n_recipients=Count("recipients"),
        n_sent=Count("recipients", filter=Q(recipients__status=Recipient.Status.SENT)),
    )


# --- the station (the partner) ----------------------------------------------------------------------


@station_required(action="campaigns")
@require_GET
def campaign_list(request):
    campaigns = _with_counts(Campaign.objects.filter(service_center=request.station)).order_by("-created_at", "-pk")
    return render(request, "marketing/list.html", {"campaigns": list(campaigns[:LIST_LIMIT])})


def _body(data) -> str:
    """The partner's words, or the template written from the promotion or the product when left empty."""
    body = (data.get("body") or "").strip()
    if body:
        return body
    return services.draft_from(promotion=data.get("promotion"), product=data.get("product")).body


@station_required(action="campaigns")
@require_http_methods(["GET", "POST"])
def campaign_new(request):
    station = request.station
    if request.method == "GET":
        form = CampaignForm(station=station)
        return render(request, "marketing/new.html", {"form": form})

    step = request.POST.get("step", "")
    form = CampaignForm(request.POST, station=station)
    if step not in ("preview", "send"):
        form.is_valid()
        form.add_error(None, _("Choose a step."))
        return render(request, "marketing/new.html", {"form": form}, status=400)
    if not form.is_valid():
        return render(request, "marketing/new.html", {"form": form}, status=400)
    data = form.cleaned_data
    changed = False
    try:
        body = _body(data)
    except services.CampaignError as exc:
        form.add_error(None, str(exc))
        return render(request, "marketing/new.html", {"form": form}, status=400)

    previewed = request.POST.get("audience", "")
    if step == "send" and previewed.isdigit():
        # The partner confirmed a count: if villagers agreed or opted out since, show the new figures first.
        now_count = selectors.audience(station, category=data.get("category"), months=data.get("months")).count()
        if now_count != int(previewed):
            step, changed = "preview", True
    if step == "send":
        try:
            campaign = services.create_campaign(
                station=station,
                actor=request.user,
                body=body,
                send_at=data.get("send_at"),
                product=data.get("product") or (data["promotion"].product if data.get("promotion") else None),
                promotion=data.get("promotion"),
                category=data.get("category"),
                months=data.get("months"),
            )
        except services.CampaignError as exc:
            form.add_error(None, str(exc))
            return render(request, "marketing/new.html", {"form": form}, status=400)
        if campaign.status == S.WAITING:
            messages.success(request, _("Campaign written: it waits for the county's approval."))
        else:
            messages.success(request, _("Campaign scheduled."))
        return redirect("campaign-detail", pk=campaign.pk)

    # The preview: the exact text, its cost, and the same form (the words filled in) to confirm or change.
    preview = texts.preview(station_name=station.name, body=body)
    count = selectors.audience(station, category=data.get("category"), months=data.get("months")).count()
    send_at = services.next_allowed(max(data.get("send_at") or timezone.now(), timezone.now()))
    form = CampaignForm({**request.POST.dict(), "body": body}, station=station)
    form.is_valid()
    context = {
        "form": form,
        "preview": preview,
        "audience": count,
        "cost": preview.cost(count),
        "send_at": send_at,
        "moved": data.get("send_at") is not None and send_at != data["send_at"],
        "waits": count > settings.MARKETING_APPROVAL_ABOVE,
        "changed": changed,
    }
    return render(request, "marketing/new.html", context, status=409 if changed else 200)


@station_required(action="campaigns")
@require_GET
def campaign_detail(request, pk: int):
    campaign = get_object_or_404(
        Campaign.objects.select_related("promotion", "product", "bought_category"),
        pk=pk,
        service_center=request.station,
    )
    counts = selectors.recipient_counts(campaign)
    R = Recipient.Status
    skipped = [(R(status).label, counts[status]) for status in (R.OPTED_OUT, R.CAPPED, R.NO_PHONE)]
    context = {
        "campaign": campaign,
        "counts": counts,
        "total": sum(counts.values()),
        "skipped": skipped,
        "attributed": selectors.attributed_orders(campaign),
        "cancellable": services.CANCELLABLE,
    }
    return render(request, "marketing/detail.html", context)


@station_required(action="campaigns")
@require_http_methods(["GET", "POST"])
def campaign_cancel(request, pk: int):
    """Call a campaign off (GET: what it spares, and the button; POST: done) before its last batch."""
    campaign = get_object_or_404(Campaign, pk=pk, service_center=request.station)
    if request.method == "POST":
        try:
            spared = services.cancel(campaign=campaign)
        except services.CampaignError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                ngettext(
                    "Campaign #%(pk)s called off: %(n)s villager will not get it.",
                    "Campaign #%(pk)s called off: %(n)s villagers will not get it.",
                    spared,
                )
                % {"pk": campaign.pk, "n": spared},
            )
        return redirect("campaign-detail", pk=campaign.pk)
    if campaign.status not in services.CANCELLABLE:
        messages.error(request, _("This campaign has gone out already or was refused: there is nothing to call off."))
        return redirect("campaign-detail", pk=campaign.pk)
    waiting = campaign.recipients.filter(status=Recipient.Status.PENDING).count()
    return render(request, "marketing/cancel.html", {"campaign": campaign, "waiting": waiting})


# --- the county -------------------------------------------------------------------------------------


@county_manager_required
@require_GET
def county_campaigns(request):
    """The county's campaigns waiting for a decision, the oldest first."""
    campaigns = _with_counts(
        Campaign.objects.filter(status=S.WAITING, service_center__village__county__in=request.counties)
        .select_related("service_center__village")
        .order_by("created_at", "pk")
    )
    return render(request, "marketing/county.html", {"campaigns": list(campaigns[:LIST_LIMIT])})


@county_manager_required
@require_POST
def county_campaign_decide(request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk, service_center__village__county__in=request.counties)
    step = request.POST.get("step", "")
    try:
        if step == "approve":
            services.approve(campaign=campaign, actor=request.user)
            done = _("Campaign #%(pk)s approved: it goes out at its time.")
        elif step == "refuse":
            form = RefuseForm(request.POST)
            if not form.is_valid():
                raise services.CampaignError(_("Say why the campaign is refused: the partner sees it."))
            services.refuse(campaign=campaign, actor=request.user, reason=form.cleaned_data["reason"])
            done = _("Campaign #%(pk)s refused; the partner sees why.")
        else:
            raise services.CampaignError(_("Choose a step."))
    except services.CampaignError as exc:
        messages.error(request, f"#{campaign.pk}: {exc}")
    else:
        messages.success(request, done % {"pk": campaign.pk})
    return redirect("county-campaigns")
