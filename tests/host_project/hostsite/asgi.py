import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostsite.settings")
django_asgi_app = get_asgi_application()

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from charla.asgi import charla_application  # noqa: E402

# Static files from the ASGI app, as runserver does: enough for a throwaway project.
application = charla_application(ASGIStaticFilesHandler(django_asgi_app))
