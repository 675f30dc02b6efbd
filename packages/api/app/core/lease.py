"""Connection leases: a database connection checked out longer than its lease loses its socket.

A database that has stopped answering cannot enforce its own statement timeout, and while some
TCP stack still acknowledges the bytes (the database host's, a proxy's, a load balancer's) the
kernel never notices either: the driver waits on its socket for ever. A lease is the client's
own bound. When one runs out, the watchdog shuts the connection's socket down (``shutdown(2)``
on a duplicate of its descriptor, so the driver's own descriptor is never closed or reused
under it); the driver's blocked read returns at once with "server closed the connection", the
request fails fast, and the pool discards that connection.

One watchdog thread per engine looks at the open leases every ``TICK_SECONDS`` while there are
any, and ends once there have been none for ``IDLE_SECONDS`` (a disposed engine leaves no thread
behind); arming and releasing a lease cost a lock and a ``dup(2)``, a few microseconds per
checkout. A lease runs out up to one tick late.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass

__all__ = ["TICK_SECONDS", "LeaseWatchdog"]

#: How often the watchdog looks for leases that have run out, while any are open.
TICK_SECONDS = 0.1
#: How long the watchdog thread outlives the last lease; the next lease starts a new one.
IDLE_SECONDS = 30.0


@dataclass
class _Lease:
    deadline: float
    descriptor: int  # our duplicate of the connection's socket
    expired: bool = False


class LeaseWatchdog:
    """Open leases keyed by whatever identifies a checkout (a pool's connection record)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._leases: dict[int, _Lease] = {}
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, key: object, fileno: int, seconds: float) -> None:
        """Give the connection on socket ``fileno`` ``seconds`` from now; arming a key that
        holds a lease already moves its deadline."""
        deadline = time.monotonic() + seconds
        with self._wake:
            lease = self._leases.get(id(key))
            if lease is not None and not lease.expired:
                lease.deadline = deadline
                return
            if lease is not None:
                os.close(lease.descriptor)
            idle = not self._leases
            self._leases[id(key)] = _Lease(deadline, os.dup(fileno))
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name=self._name, daemon=True)
                self._thread.start()
            elif idle:
                self._wake.notify()  # it sleeps until a lease opens; otherwise it is ticking

    def release(self, key: object) -> bool:
        """End ``key``'s lease, if it has one; True when it had run out (its socket was shut)."""
        with self._wake:
            lease = self._leases.pop(id(key), None)
        if lease is None:
            return False
        os.close(lease.descriptor)
        return lease.expired

    def _watch(self) -> None:
        with self._wake:
            while True:
                if not self._leases:
                    if not self._wake.wait(IDLE_SECONDS) and not self._leases:
                        self._thread = None  # idle: the next arm starts another
                        return
                    continue
                now = time.monotonic()
                for lease in self._leases.values():
                    if not lease.expired and lease.deadline <= now:
                        lease.expired = True
                        _shut(lease.descriptor)
                self._wake.wait(TICK_SECONDS)


def _shut(descriptor: int) -> None:
    """Shut a socket down both ways through one of its descriptors, leaving it open."""
    try:
        sock = socket.socket(fileno=descriptor)
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already shut, or the peer is gone: either way the driver's read has returned
    finally:
        sock.detach()
