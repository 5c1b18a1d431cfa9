"""The README's layers diagram is the one the code draws (python -m tools.layers)."""

from tools import layers


def test_the_readme_shows_the_layers_as_the_code_imports_them():
    assert layers.main(["--check"]) == 0, "run: python -m tools.layers"


def test_the_layers_point_down_only():
    order = list(layers.PACKAGES)  # top to bottom
    arrows = [line.split() for line in layers.diagram().splitlines() if " -->|" in line]
    assert arrows, "the diagram draws the imports between layers"
    for source, _count, target in ((a[0], a[1], a[2]) for a in arrows):
        assert order.index(source) < order.index(target), f"{source} imports {target}, a layer above it"
    assert not [a for a in arrows if a[0] == "realtime" and a[2] != "conf"], "the transport imports no app"
