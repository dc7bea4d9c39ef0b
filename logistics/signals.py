from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Route
from .schedules import remove_route_schedule, sync_route_schedule


@receiver(post_save, sender=Route)
def route_saved(sender, instance: Route, raw=False, **kwargs):
    # Saved in the admin, by seed_demo or by an import: the beat entry follows the route.
    if not raw:
        sync_route_schedule(instance)


@receiver(post_delete, sender=Route)
def route_deleted(sender, instance: Route, **kwargs):
    remove_route_schedule(instance)
