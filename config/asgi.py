"""ASGI entry point of Charla's own site: HTTP goes to Django, WebSockets through origin and auth checks to Charla."""

import gc
import os
import sys

from django.core.asgi import get_asgi_application

# The database thread gives up the GIL at every query and waits for it back while the
# event loop fans out: with the default 5 ms switch interval each query could wait 5 ms.
# At 1 ms, a room of 1,000 went from 56k to 92k deliveries/s (make bench).
sys.setswitchinterval(0.001)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from charla.asgi import charla_application  # noqa: E402

application = charla_application(django_asgi_app)

# Garbage collection, measured at a room of 1,000 (make bench --only room1000): a full
# collection walked every object of every socket, 0.13 s at 1,000 sockets and 0.6-0.9 s
# at 10,000, every 20 s or so under load, and each one stalled every socket of the
# process. Fewer, larger young collections (3-8 ms each) let a message's short-lived
# objects die before they are promoted, so the room of 1,000 saw no full collection under
# load (at 10,000 sockets they still come while sockets pile up: docs/scaling.md); and
# what exists once the app is loaded (modules, classes, settings) lives forever, so no
# collection walks it again.
gc.set_threshold(10_000, 10, 10)
gc.freeze()
