"""Fan-out benchmark of Charla against a bare asyncio broadcast server (`python -m bench.run`)."""
