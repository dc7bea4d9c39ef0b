"""Ledgers: append-only rows (stock movements, commission entries, the consent record, the cash book).

A correction is a new row; on PostgreSQL a trigger refuses an UPDATE or DELETE as well.
"""

from django.db import models


class LedgerIsAppendOnly(Exception):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    """A ledger's rows in bulk: never updated, never deleted (a correction is a new row)."""

    def update(self, **kwargs):
        raise LedgerIsAppendOnly(self.model.never_updated)

    def delete(self):
        raise LedgerIsAppendOnly(self.model.never_deleted)


class AppendOnlyModel(models.Model):
    """A ledger row: written once, never updated, never deleted (on PostgreSQL a trigger says so too)."""

    never_updated = "ledger rows are never updated"
    never_deleted = "ledger rows are never deleted"

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise LedgerIsAppendOnly(self.never_updated)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerIsAppendOnly(self.never_deleted)
