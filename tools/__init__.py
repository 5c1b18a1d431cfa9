"""Developer commands that read the code: `python -m tools.layers` draws the layers diagram in the README."""
