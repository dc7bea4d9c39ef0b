from django.contrib.auth.models import AbstractBaseUser

from .models import UserSession


def end_all_sessions(*, user: AbstractBaseUser) -> int:
    """Log ``user`` out everywhere: every browser holding one of their sessions is anonymous on its next request.

    Returns how many sessions ended.  One DELETE: a session saved concurrently
    by a request already in flight is gone by the time it would be read again.
    """
    deleted, _ = UserSession.objects.filter(user=user).delete()
    return deleted


def end_all_sessions_of_users(*, user_ids: list[int]) -> int:
    deleted, _ = UserSession.objects.filter(user_id__in=user_ids).delete()
    return deleted
