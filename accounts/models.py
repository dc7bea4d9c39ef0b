"""Sessions that know their user, so all of one user's sessions can be ended at once.

Django's own session table keeps the user id inside the encoded session data,
where no query can find it.  This is Django's documented way of extending the
database session engine (``AbstractBaseSession``) with an indexed column.
"""

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserSession(AbstractBaseSession):
    # Filled from the session data on every save: set at login, kept when the key is
    # cycled (a password change), cleared on logout; null for anonymous visitors.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_user_session"
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    @classmethod
    def get_session_store_class(cls):
        from .sessions import SessionStore

        return SessionStore
