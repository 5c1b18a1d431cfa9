"""Test support, one home for each helper: the channel layer (layer), chat's services (chat), real server
processes (servers), model clients (clients), Chromium (browser), sockets over the ASGI stack (ws)."""
