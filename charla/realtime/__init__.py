"""Charla's transport: sockets, their fan-out across processes, presence and limits; it knows no rooms or messages.

Imports no Charla app (import-linter checks it): the chat and notifications apps build on it.
"""
