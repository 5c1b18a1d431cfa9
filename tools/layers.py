"""Draw Charla's layers from its imports, as a Mermaid diagram in the README: `python -m tools.layers [--check]`.

Each package is a box listing its modules; an arrow from A to B says that A imports B, with
how many module-to-module imports there are. The layers run one way (import-linter checks it
in make lint), so the arrows only point down. `--check` exits 1 if the README's diagram is
not the one the code draws (tests/test_layers.py runs it).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import grimp

# Each box: a name in the diagram, what it is, and the modules it holds (by prefix).
PACKAGES = {
    "config": ("config: Charla's own site (settings, urls, accounts, ASGI entry, server)", ("config",)),
    "entry": ("charla.asgi, charla.urls: what a host project plugs in", ("charla.asgi", "charla.urls")),
    "notifications": ("charla.notifications: announcements, personal notifications", ("charla.notifications",)),
    "chat": ("charla.chat: rooms and messages", ("charla.chat",)),
    "realtime": ("charla.realtime: the transport (knows no app)", ("charla.realtime",)),
    "conf": ("charla.conf: settings and their defaults", ("charla.conf",)),
}
README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- layers: drawn by python -m tools.layers -->", "<!-- /layers -->"


def box_of(module: str) -> str | None:
    for box, (_title, prefixes) in PACKAGES.items():
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return box
    return None


def diagram() -> str:
    """The Mermaid flowchart of the packages, their modules and the imports between packages."""
    graph = grimp.build_graph("charla", "config", include_external_packages=False)
    modules: dict[str, list[str]] = {box: [] for box in PACKAGES}
    edges: Counter[tuple[str, str]] = Counter()
    for module in sorted(graph.modules):
        box = box_of(module)
        if box is None:
            continue
        prefix = next(p for p in PACKAGES[box][1] if module == p or module.startswith(p + "."))
        parts = module[len(prefix) + 1 :].split(".") if module != prefix else []
        if len(parts) == 1 or (len(parts) > 1 and parts[0] in ("services", "storage")):
            modules[box].append(".".join(parts))
        for imported in graph.find_modules_directly_imported_by(module):
            target = box_of(imported)
            if target is not None and target != box:
                edges[(box, target)] += 1
    lines = ["```mermaid", "flowchart TD"]
    for box, (title, _prefixes) in PACKAGES.items():
        names = [m for m in modules[box] if m not in ("apps", "migrations", "management", "templatetags")]
        rows = [", ".join(names[i : i + 6]) for i in range(0, len(names), 6)]
        label = "<br>".join([f"<b>{title}</b>", *rows])
        lines.append(f'    {box}["{label}"]')
    for (source, target), count in sorted(edges.items()):
        lines.append(f"    {source} -->|{count}| {target}")
    lines.append("```")
    return "\n".join(lines)


def readme_with(block: str, text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + block + "\n" + text[end:]


def main(argv: list[str]) -> int:
    text = README.read_text()
    wanted = readme_with(diagram(), text)
    if "--check" in argv:
        if wanted != text:
            print("README.md's layers diagram is not the code's: run python -m tools.layers", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
