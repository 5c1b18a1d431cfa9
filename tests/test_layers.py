"""The README's layers diagram is the one the code draws (python -m tools.layers)."""

from tools import layers


def test_the_readme_shows_the_layers_as_the_code_imports_them():
    assert layers.main(["--check"]) == 0, "run: python -m tools.layers"


def test_the_layers_point_down_only():
    drawn = layers.diagram()
    for upward in ("realtime -->", "chat -->|"):
        assert not any(line.strip().startswith(upward) and "notifications" in line for line in drawn.splitlines())
    assert "realtime -->" not in drawn, "the transport imports no app"
