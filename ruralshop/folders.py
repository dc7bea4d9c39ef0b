"""The folders of the embedded setup (SQLite file, file-system broker, static files), made by their users.

Importing the settings must have no side effect (a ``check`` or a test that
imports them in another environment would leave folders behind), so the
folders the settings name are created by the processes that write into them:
``manage.py`` (migrate, runserver, collectstatic, every command of bin/run),
the Celery app once it has read its configuration (worker, beat, and a web
process sending a task) and the test session (tests/conftest.py).  One
function for all of them, so the list of paths is kept in one place.  The file
cache needs nothing: Django creates its folder on the first write.
"""

from pathlib import Path

from django.conf import settings


def create_var_folders() -> None:
    """Create the folders the configured database, Celery transport and static files write into (if local)."""
    folders = [Path(settings.STATIC_ROOT)]
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        folders.append(Path(database["NAME"]).parent)
        test_name = database.get("TEST", {}).get("NAME")
        if test_name:
            folders.append(Path(test_name).parent)
    # kombu's file-system transport creates none of its folders but the control one; the file result backend none.
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    folders += [Path(options[key]) for key in ("data_folder_in", "data_folder_out", "control_folder") if key in options]
    backend = getattr(settings, "CELERY_RESULT_BACKEND", "")
    if backend.startswith("file://"):
        folders.append(Path(backend.removeprefix("file://")))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
