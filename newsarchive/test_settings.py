"""Settings for the test suite: the site's own, with a throwaway secret key.

The site refuses to start with debug off and no key; the suite should neither need a key file
nor read a machine's real one. Set before the site's settings load, and so inherited by the
subprocesses the tests start (which load the same settings module).
"""

import os

os.environ["DJANGO_SECRET_KEY"] = "test-suite-only-not-secret-" + "x" * 40

from newsarchive.settings import *  # noqa: E402, F403
