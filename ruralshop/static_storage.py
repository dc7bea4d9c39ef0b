"""Static files under names that carry a hash of their content, so a browser keeps them for good.

Production collects them with WhiteNoise's ``CompressedManifestStaticFilesStorage``: ``app.css`` is
served as ``app.3f2a….css`` with ``Cache-Control: max-age=315360000, public, immutable``, and a warm
page load asks for no static file at all.  Django drops the hash under ``DEBUG``; ``make run`` runs
with ``DEBUG`` and should load like production (a partner's phone on a slow link), so this storage
keeps the hash there too.  A file missing from the manifest (added since the last ``collectstatic``)
is served under its plain name rather than failing the page.
"""

from django.core.files.storage import FileSystemStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False

    def url(self, name, force=False):
        try:
            return super().url(name, force=True)
        except ValueError:  # not collected yet: the plain name (WhiteNoise's finders serve it under DEBUG)
            return FileSystemStorage.url(self, name)
