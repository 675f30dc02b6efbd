"""Ctrl-C that cannot be lost by a command that loops until the user stops it.

Python drops an exception raised while a finalizer runs (a generator closed by the garbage
collector, say: "Exception ignored in ..."), so a SIGINT that lands there raises a
KeyboardInterrupt nobody sees, and ``dn train jobs watch`` would go on polling a running job
for ever. The handler here remembers the signal as well as raising it, and the loop asks at
each turn; a lost KeyboardInterrupt is raised again there.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["remembered_ctrl_c"]


@contextmanager
def remembered_ctrl_c() -> Iterator[Callable[[], None]]:
    """For the block, Ctrl-C raises KeyboardInterrupt as usual and is remembered; the yielded
    check raises it again if it was pressed. Where Ctrl-C is not Python's usual (ignored, as
    for a job a shell put in the background, or handled by the embedding program), or outside
    the main thread, nothing changes and the check never raises."""
    pressed = False

    def check() -> None:
        if pressed:
            raise KeyboardInterrupt

    def on_ctrl_c(signum: int, frame: FrameType | None) -> None:
        nonlocal pressed
        pressed = True
        raise KeyboardInterrupt

    try:
        usual = signal.getsignal(signal.SIGINT) is signal.default_int_handler
        previous = signal.signal(signal.SIGINT, on_ctrl_c) if usual else None
    except ValueError:  # not the main thread: signals are not ours to handle
        previous = None
    try:
        yield check
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
