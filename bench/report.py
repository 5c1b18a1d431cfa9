"""The bench's outputs: the summary table, bench/results/latest.json and docs/bench.png."""

from __future__ import annotations

import json
from pathlib import Path

from bench.driver import fmt

ROOT = Path(__file__).resolve().parent.parent
JSON_PATH = ROOT / "bench" / "results" / "latest.json"
PNG_PATH = ROOT / "docs" / "bench.png"
# The bare server has no shared state between processes: its single-process figure is the reference.
BARE_REFERENCE = {"room100x2": "room100"}
SIZES = {"room10": 10, "room100": 100, "room1000": 1000}


def _get(row: dict, phase: str, key: str):
    return (row.get(phase) or {}).get(key)


def bare_of(rows: list[dict], scenario: str) -> dict | None:
    name = BARE_REFERENCE.get(scenario, scenario)
    return next((r for r in rows if r["server"] == "bare" and r["scenario"] == name), None)


def tutorial_of(rows: list[dict], scenario: str) -> dict | None:
    return next((r for r in rows if r["server"] == "tutorial" and r["scenario"] == scenario), None)


def summary(rows: list[dict]) -> dict:
    """Per-row ratios and totals, memory per socket and stored messages per second."""
    for row in rows:
        row["lost"] = sum(_get(row, p, "lost") or 0 for p in ("closed", "open"))
        row["duplicated"] = sum(_get(row, p, "duplicated") or 0 for p in ("closed", "open"))
        bare = bare_of(rows, row["scenario"]) if row["server"] == "charla" else None
        mine, theirs = _get(row, "closed", "deliveries_per_s"), bare and _get(bare, "closed", "deliveries_per_s")
        row["ratio_vs_bare"] = round(mine / theirs, 4) if mine is not None and theirs else None
        tutorial = tutorial_of(rows, row["scenario"]) if row["server"] == "charla" else None
        theirs = tutorial and _get(tutorial, "closed", "deliveries_per_s")
        row["ratio_vs_tutorial"] = round(mine / theirs, 2) if mine is not None and theirs else None
    memory = {r["server"]: r["memory"]["bytes_per_socket"] for r in rows if r.get("memory")}
    stored = {
        r["scenario"].removeprefix("store-"): _get(r, "closed", "messages_per_s")
        for r in rows
        if r["scenario"].startswith("store-")
    }
    versus = {r["scenario"]: r["ratio_vs_tutorial"] for r in rows if r.get("ratio_vs_tutorial") is not None}
    out = {"memory_bytes_per_idle_socket": memory, "stored_messages_per_s": stored}
    if versus:
        out["charla_vs_tutorial"] = versus  # Charla's closed-loop deliveries/s over the tutorial's, same run
    return out


def _num(value, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def _note(row: dict) -> str:
    parts = [row["error"][:70]] if row.get("error") else []
    others = max((_get(row, p, "others_cpu") or 0) for p in ("closed", "open"))
    if others > 0.25:
        parts.append(f"machine shared: others used up to {others} cores")
    if row.get("not_ready"):
        parts.append(f"{row['not_ready']} sockets refused at connect (their messages counted lost)")
    if row.get("settled") is False:
        parts.append("presence not settled")
    if row.get("closes"):
        parts.append(f"closes {row['closes']}")
    if row.get("error_frames"):
        parts.append(f"{row['error_frames']} error frames")
    if row.get("server_tracebacks"):
        parts.append(f"{row['server_tracebacks']} server tracebacks")
    if row.get("server_died"):
        parts.append("server died")
    return "; ".join(parts)


def table(rows: list[dict], extra: dict) -> str:
    """One line per scenario and server; CPU is in cores (client processes, server processes)."""
    columns = ("scenario", "server", "deliv/s", "msgs/s", "×bare", "p50 ms", "p99 ms", "p99.9 ms", "lost", "dup")
    widths = (22, 7, 8, 8, 7, 8, 8, 9, 6, 5)
    head = " ".join(f"{c:<{w}}" if i < 2 else f"{c:>{w}}" for i, (c, w) in enumerate(zip(columns, widths, strict=True)))
    head += "  client/server CPU  note"
    lines = [head, "-" * len(head)]
    for r in rows:
        closed = r.get("closed") or {}
        deliveries = closed.get("deliveries_per_s")
        cpu = "/".join("+".join(str(c) for c in closed.get(k) or []) or "-" for k in ("client_cpu", "server_cpu"))
        cells = (
            r["label"],
            r["server"],
            _num(deliveries and fmt(deliveries)),
            _num(closed.get("messages_per_s"), ".0f"),
            _num(r.get("ratio_vs_bare"), ".3f"),
            _num(_get(r, "open", "p50_ms"), ".1f"),
            _num(_get(r, "open", "p99_ms"), ".1f"),
            _num(_get(r, "open", "p999_ms"), ".1f"),
            str(r.get("lost", 0)),
            str(r.get("duplicated", 0)),
        )
        line = " ".join(
            f"{c:<{w}}" if i < 2 else f"{c:>{w}}" for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        lines.append(f"{line}  {cpu:<17}  {_note(r)}")
    for r in rows:
        tutorial = tutorial_of(rows, r["scenario"]) if r["server"] == "charla" else None
        if tutorial is None:
            continue
        ratio = r.get("ratio_vs_tutorial")
        lost = ", ".join(
            f"{p} {_get(tutorial, p, 'lost'):,} of {_get(tutorial, p, 'expected'):,}"
            for p in ("closed", "open")
            if _get(tutorial, p, "expected")
        )
        said = f"Charla = {ratio:.1f} x the tutorial" if ratio else "no ratio (a run failed)"
        lines.append(
            f"{r['label']}: {said} (closed-loop deliveries/s); the tutorial lost {lost or '-'}"
            + (f"; closes {tutorial['closes']}" if tutorial.get("closes") else "")
        )
    memory = extra["memory_bytes_per_idle_socket"]
    if memory:
        per = ", ".join(f"{k} {v / 1024:.1f} KiB" for k, v in memory.items())
        lines.append(f"memory per idle socket (10,000 sockets in 1,000 rooms, one server process): {per}")
    stored = extra["stored_messages_per_s"]
    if stored:
        per = ", ".join(f"{k} {_num(v)}" for k, v in stored.items())
        lines.append(f"stored messages/s (Charla; 10 senders × 2 in flight, each alone in its room): {per}")
    return "\n".join(lines)


def write_json(document: dict, path: Path = JSON_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path


def plot(rows: list[dict], path: Path = PNG_PATH, note: str = "") -> Path | None:
    """Deliveries/s and p99 against room size, Charla vs bare, plus the 1,000-rooms and two-process points."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    panels = (
        ("closed", "deliveries_per_s", "deliveries/s (closed loop)"),
        ("open", "p99_ms", "p99 latency, ms (half load)"),
    )
    colors = {"charla": "tab:red", "bare": "tab:blue", "tutorial": "tab:gray"}
    for ax, (phase, key, title) in zip(axes, panels, strict=True):
        for server, color in colors.items():
            points = sorted(
                (SIZES[r["scenario"]], _get(r, phase, key))
                for r in rows
                if r["server"] == server and r["scenario"] in SIZES and _get(r, phase, key)
            )
            failed = [r["label"] for r in rows if r["server"] == server and r["scenario"] in SIZES and r.get("error")]
            label = f"{server}, one room" + (f" ({', '.join(failed)}: failed)" if failed else "")
            if points:
                ax.plot(*zip(*points, strict=True), "o-", color=color, label=label)
            extras = (("rooms1000", 10, "s", "1,000 rooms of 10"), ("room100x2", 100, "^", "room of 100, 2 processes"))
            for scenario, x, marker, label in extras:
                value = next(
                    (_get(r, phase, key) for r in rows if r["server"] == server and r["scenario"] == scenario), None
                )
                if value:
                    ax.plot([x], [value], marker, color=color, markersize=9, mfc="none", label=f"{server}, {label}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("members per room")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(
        "Charla vs a bare asyncio broadcast server (same load client, same run)" + (f"\n{note}" if note else "")
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
