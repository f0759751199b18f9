"""WSGI entry point (gunicorn newsarchive.wsgi).

Each worker opens the search index before it takes its first request, so nobody waits for
that (see ``articles.search.warm_up``).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsarchive.settings")

application = get_wsgi_application()

from django.db import connections  # noqa: E402

from articles.search import warm_up  # noqa: E402 - needs the Django set-up above

warm_up()
connections.close_all()  # with gunicorn --preload, forked workers must not share this one
