"""How many requests the server works on at once; the others wait their turn, first come first served.

Each request's database work runs in worker threads, and on SQLite it holds the process's
transaction lock from its first query to its commit, across several threads in turn (see
`core.db`). If every worker thread were taken by requests waiting for that lock, the request
holding it could not get a thread to finish: the server would stop. Admitting a few requests at a
time rules that out, and queues the rest in arrival order instead of letting them all fight for
the lock, which keeps the slowest answers close to the typical ones.

Not counted: static files; uploads to the routes that take files (multipart bodies, which may
take minutes to arrive over a slow link); and an import's progress, read without the transaction lock (`registry.jobs`), which
must keep moving while a long import holds that lock and the admitted requests wait for it.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

# Well under the 40 worker threads the server has (AnyIO's default).
ADMITTED = 8
# The routes that take files: only their multipart uploads go uncounted.
UPLOADS = frozenset({"/imports", "/admin/places", "/api/v1/imports"})


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, limit: int = ADMITTED) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None

    def _counted(self, scope: Scope) -> bool:
        path = scope["path"] if scope["type"] == "http" else ""
        if not path or path.startswith("/static/") or (path.startswith("/imports/jobs/") and path.endswith("/progress")):
            return False
        if scope["method"] == "POST" and path in UPLOADS:
            return not any(name == b"content-type" and value.startswith(b"multipart/")
                           for name, value in scope.get("headers") or [])
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._counted(scope):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made in the server's event loop, on the first request
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
