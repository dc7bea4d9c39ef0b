"""The benchmark's settings: the product's, serving bench.urls (its URLs plus the bare reference endpoints).

bench/run.py, its gunicorn and bench/logistics_api.py select this module;
ruralshop.settings cannot be switched to these URLs from the environment.
"""

from ruralshop.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
