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

PACKAGES = {
    "config": "config: settings, urls, ASGI entry, server command",
    "notifications": "notifications: announcements, personal notifications, mentions",
    "chat": "chat: rooms and messages",
    "realtime": "realtime: the transport (knows no app)",
}
README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- layers: drawn by python -m tools.layers -->", "<!-- /layers -->"


def diagram() -> str:
    """The Mermaid flowchart of the packages, their modules and the imports between packages."""
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    modules = {package: [] for package in PACKAGES}
    edges: Counter[tuple[str, str]] = Counter()
    for module in sorted(graph.modules):
        package = module.split(".")[0]
        parts = module.split(".")
        if len(parts) == 2 or (len(parts) > 2 and parts[1] in ("services", "storage")):
            modules[package].append(".".join(parts[1:]))
        for imported in graph.find_modules_directly_imported_by(module):
            target = imported.split(".")[0]
            if target != package and target in PACKAGES:
                edges[(package, target)] += 1
    lines = ["```mermaid", "flowchart TD"]
    for package, title in PACKAGES.items():
        names = [m for m in modules[package] if m not in ("apps", "migrations", "management")]
        rows = [", ".join(names[i : i + 6]) for i in range(0, len(names), 6)]
        label = "<br>".join([f"<b>{title}</b>", *rows])
        lines.append(f'    {package}["{label}"]')
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
