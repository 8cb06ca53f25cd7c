"""A loopback TCP proxy that a test can cut and restore, standing in for a network outage
between the bot and its PostgreSQL server (the server itself keeps running).

    async with TcpProxy(target_port=5432) as proxy:
        url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
        ...
        proxy.cut()       # every connection through it is closed; new ones are refused
        proxy.restore()   # new connections are forwarded again

`cut(mode="refuse")` accepts a new connection and closes it at once (what a client sees of a
server that went away: the connection ends before any answer). `cut(mode="blackhole")` keeps
new connections open and never answers (a network that drops packets: the client waits for
its own timeout); `restore()` closes them.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Literal

Mode = Literal["refuse", "blackhole"]
_CHUNK = 64 * 1024


@dataclass
class ProxyCounters:
    accepted: int = 0  # connections taken by the listener, whatever became of them
    forwarded: int = 0  # connected through to the target
    refused: int = 0  # closed at once while cut ("refuse")
    blackholed: int = 0  # held without an answer while cut ("blackhole")
    cut: int = 0  # forwarded connections closed by cut()
    failed: int = 0  # the target itself could not be reached
    bytes_up: int = 0  # client to target
    bytes_down: int = 0  # target to client


class TcpProxy:
    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432) -> None:
        self.target = (target_host, target_port)
        self.port = 0  # the listening port, once started
        self.counters = ProxyCounters()
        self.mode: Mode | None = None  # None: forwarding; else how new connections are met
        self._server: asyncio.Server | None = None
        # each forwarded connection: (client transport, target transport)
        self._pairs: set[tuple[asyncio.WriteTransport, asyncio.WriteTransport]] = set()
        self._held: set[asyncio.StreamWriter] = set()  # blackholed
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    @property
    def active(self) -> int:
        """Connections forwarded now."""
        return len(self._pairs)

    @property
    def is_cut(self) -> bool:
        return self.mode is not None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self._close_all()
        self._release_held()
        # their connections are closed, so they end by themselves (cancelling one makes
        # asyncio's stream server log an error)
        tasks, self._tasks = self._tasks, set()
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=5)
            for task in late:
                task.cancel()

    async def __aenter__(self) -> TcpProxy:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    def cut(self, mode: Mode = "refuse") -> int:
        """Close every connection through the proxy, and meet new ones by `mode` until
        `restore()`; returns how many connections were closed."""
        self.mode = mode
        closed = self._close_all()
        self.counters.cut += closed
        self._notify()
        return closed

    def restore(self) -> None:
        """Forward new connections again (the ones closed by `cut` stay closed)."""
        self.mode = None
        self._release_held()
        self._notify()

    async def wait_for(self, condition: object, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until `condition()` holds; checked at every change of the proxy."""
        assert callable(condition)
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()

    def _close_all(self) -> int:
        pairs, self._pairs = self._pairs, set()
        for client, target in pairs:
            client.abort()
            target.abort()
        return len(pairs)

    def _release_held(self) -> None:
        held, self._held = self._held, set()
        for writer in held:
            writer.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.counters.accepted += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._tasks.discard(task)
            self._notify()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "refuse":
            self.counters.refused += 1
            writer.transport.abort()
            return
        if self.mode == "blackhole":
            self.counters.blackholed += 1
            self._held.add(writer)
            with contextlib.suppress(ConnectionError):
                while await reader.read(_CHUNK):  # swallowed; ends when restore() closes it
                    pass
            self._held.discard(writer)
            writer.transport.abort()
            return
        try:
            target_reader, target_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self.counters.failed += 1
            writer.transport.abort()
            return
        if self.mode is not None:  # cut while connecting
            target_writer.transport.abort()
            writer.transport.abort()
            self.counters.refused += 1
            return
        self.counters.forwarded += 1
        pair = (writer.transport, target_writer.transport)
        self._pairs.add(pair)
        self._notify()
        try:
            await asyncio.gather(
                self._pipe(reader, target_writer, up=True),
                self._pipe(target_reader, writer, up=False),
            )
        finally:
            self._pairs.discard(pair)
            writer.transport.abort()
            target_writer.transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, up: bool
    ) -> None:
        try:
            while data := await reader.read(_CHUNK):
                if up:
                    self.counters.bytes_up += len(data)
                else:
                    self.counters.bytes_down += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            # one side ended: so does the other (PostgreSQL's protocol has no half-close)
            writer.transport.abort()
