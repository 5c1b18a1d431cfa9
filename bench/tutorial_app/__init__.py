"""The seed tutorial's chat (/work/shared/seed/django-channels-guide.md), kept as written for comparison, bugs included.

Served by `python -m bench.run --servers charla,bare,tutorial` (rooms of 10 and 100 only). The changes
needed to run it at all on current releases are listed in settings.py and chat/consumers.py.
"""
