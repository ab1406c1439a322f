"""Many users at once: the server keeps answering when requests outnumber its worker threads.

Each request's database work runs in worker threads and, on SQLite, holds the process's
transaction lock across several of them (on PostgreSQL, a pooled connection). Without admission
control, requests waiting for the lock can take every thread, and the one holding it can never
finish: here the server is given 4 threads and 16 simultaneous users.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re

import anyio.to_thread
import httpx
import sqlalchemy as sa

from jatigi.core.db import session_scope
from jatigi.web.app import create_app
from tests import factories as f


async def _crowd(users: int, threads: int, admit: int) -> list[int]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads
    app = create_app(admit=admit)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)  # type: ignore[union-attr]
        await client.post("/login", data={"username": "alice", "password": f.PASSWORD, "csrf_token": csrf,
                                          "next": "/"})
        answers = await asyncio.wait_for(
            asyncio.gather(*(client.get("/households") for _ in range(users))), timeout=60)
    return [a.status_code for a in answers]


def test_sixteen_users_at_once_on_four_threads_are_all_answered(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.user(s, "alice", "ONGA")
    # In a thread of its own: a browser test of the same worker may keep an event loop running here.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        statuses = pool.submit(asyncio.run, _crowd(users=16, threads=4, admit=2)).result()
    assert statuses == [200] * 16


def test_only_uploads_to_the_upload_routes_skip_the_queue() -> None:
    from jatigi.web.admission import AdmissionMiddleware

    gate = AdmissionMiddleware(app=None)  # type: ignore[arg-type]
    multipart = [(b"content-type", b"multipart/form-data; boundary=x")]

    def counted(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> bool:
        return gate._counted({"type": "http", "method": method, "path": path, "headers": headers})

    assert not counted("POST", "/imports", multipart)
    assert not counted("POST", "/api/v1/imports", multipart)
    assert not counted("GET", "/static/css/jatigi.css", [])
    assert not counted("GET", "/imports/jobs/3/progress", [])
    # The header alone does not let a request past the queue.
    assert counted("GET", "/households", multipart)
    assert counted("POST", "/households/new", multipart)
    assert counted("POST", "/imports", [(b"content-type", b"application/x-www-form-urlencoded")])
