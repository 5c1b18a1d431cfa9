"""The bench's scenarios: rooms, members, senders and server layout, and the socket plan each one makes."""

from __future__ import annotations

from dataclasses import dataclass

from bench.load import Spec


@dataclass(frozen=True)
class Scenario:
    """Rooms of `members` sockets; sender k posts in room `sender_rooms[k]` (its first free members)."""

    name: str
    label: str
    rooms: tuple[str, ...]
    members: int
    sender_rooms: tuple[int, ...]
    processes: int = 1  # Charla server processes sharing one Redis (the bare server and the tutorial: one)
    database: str = "postgres"
    phases: tuple[str, ...] = ("closed", "open")
    servers: tuple[str, ...] = ("charla", "bare")
    measure_memory: bool = False

    @property
    def sockets(self) -> int:
        return len(self.rooms) * self.members

    def membership(self) -> dict[str, list[int]]:
        """Room name -> bench user indexes (user i of the run is socket i of the scenario)."""
        return {room: list(range(r * self.members, (r + 1) * self.members)) for r, room in enumerate(self.rooms)}

    def specs(self, ports: list[int], cookies: list[str] | None, rooms: tuple[str, ...] | None = None) -> list[Spec]:
        """Every socket of the plan; with several ports, sockets (senders too) alternate between them.

        `rooms`: the room names in the URLs, if the server names them otherwise (the tutorial: tutorial_room).
        """
        rooms = rooms or self.rooms
        first_free = [0] * len(self.rooms)
        sender_of: dict[int, int] = {}
        for k, r in enumerate(self.sender_rooms):
            sender_of[r * self.members + first_free[r]] = k
            first_free[r] += 1
        by_room = [tuple(k for k, rr in enumerate(self.sender_rooms) if rr == r) for r in range(len(self.rooms))]
        specs = []
        for i in range(self.sockets):
            r = i // self.members
            specs.append(
                Spec(
                    index=i,
                    host="127.0.0.1",
                    port=ports[i % len(ports)],
                    path=f"/ws/chat/{rooms[r]}/",
                    cookie=cookies[i] if cookies else None,
                    sender=sender_of.get(i, -1),
                    room_senders=by_room[r],
                )
            )
        return specs


def tutorial_room(name: str) -> str:
    """A room's name for the tutorial, whose route takes only \\w+ names (no hyphens)."""
    return name.replace("-", "_")


def _one_room(name: str, members: int, senders: int, label: str = "", **extra) -> Scenario:
    label = label or f"room of {members:,}"
    return Scenario(name, label, (f"bench-{name}",), members, (0,) * senders, **extra)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        # The seed tutorial's chat only runs rooms of 10 and 100: it delivers nothing at 1,000 (field notes).
        _one_room("room10", 10, 10, servers=("charla", "bare", "tutorial")),
        _one_room("room100", 100, 10, servers=("charla", "bare", "tutorial")),
        _one_room("room1000", 1000, 5),
        Scenario(
            "rooms1000",
            "1,000 rooms of 10",
            tuple(f"bench-rooms1000-{r:04d}" for r in range(1000)),
            10,
            # One sender in every 100th room: 10 busy rooms among 990 idle ones.
            tuple(range(0, 1000, 100)),
            measure_memory=True,
        ),
        _one_room("room100x2", 100, 10, "room of 100, 2 procs", processes=2, servers=("charla",)),
        Scenario(
            "store-postgres",
            "10 × 1, PostgreSQL",
            tuple(f"bench-store-pg-{r:02d}" for r in range(10)),
            1,
            tuple(range(10)),
            phases=("closed",),
            servers=("charla",),
        ),
        Scenario(
            "store-sqlite",
            "10 × 1, SQLite",
            tuple(f"bench-store-sqlite-{r:02d}" for r in range(10)),
            1,
            tuple(range(10)),
            database="sqlite",
            phases=("closed",),
            servers=("charla",),
        ),
    )
}


def select(only: list[str] | None) -> list[Scenario]:
    if not only:
        return list(SCENARIOS.values())
    unknown = [name for name in only if name not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    return [SCENARIOS[name] for name in only]
