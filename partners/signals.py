"""Signals of the partner network, for apps that depend on it (an app never imports one to its right)."""

from django.dispatch import Signal

# Sent inside the transaction that anonymises a villager (``services.anonymise_villager``), with
# ``villager``: receivers scrub what their app holds of the person, in the same transaction.
villager_anonymised = Signal()

# Sent when a villager's answer to SMS is set or changed (``services.register_villager``/``update_villager``),
# with ``villager``, ``granted``, ``actor`` and, for promotional SMS, ``purpose="marketing"``: the
# notifications app keeps the record of who agreed, when.
villager_consent_changed = Signal()
