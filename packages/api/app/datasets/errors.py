"""The dataset store's one failure a client may hear about.

A store that cannot be used right now (unreachable, hung, refusing this service's credentials,
or answering 5xx after its retries) is the store's fault, not the request's, and the caller can
only come back later: the upload route answers it as it answers a database that is down, 503 in
the envelope with ``Retry-After``. Every store raises this class and nothing narrower, so the
route catches one thing whatever store the operator configured (an ``OSError``, see below); the
underlying library's error rides along as ``__cause__`` for the log.

A key that is simply not there is no fault: ``open`` raises ``FileNotFoundError``, as a file
would, and ``exists`` answers False.
"""

from __future__ import annotations

__all__ = ["StoreUnavailableError"]


class StoreUnavailableError(OSError):
    """The dataset store could not be used in time; the message says which store and why, in one
    line, with no credentials in it.

    An ``OSError``, as a failing disk under a directory store is: the route catches ``OSError``
    and so answers both stores' failures alike."""
