"""Several server processes, each with its own listening socket on the same port.

With one socket shared by every process (uvicorn's `workers=`), the kernel hands a new connection
to whichever process wakes first, and a browser or a proxy keeps its connections open: measured
under load, one process served three times as many requests as the other while both cores were
meant to work. With `SO_REUSEPORT` each process listens on a socket of its own and the kernel
spreads the connections evenly between them.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
from types import FrameType

import uvicorn

from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _

APP = "jatigi.web.app:create_app"


def _config(host: str, port: int) -> uvicorn.Config:
    # No access log: query strings carry names and phone numbers searched for.
    return uvicorn.Config(APP, factory=True, host=host, port=port, log_level="info", access_log=False)


def _listening(host: str, port: int, share: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if share:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(host: str, port: int) -> None:
    sock = _listening(host, port, share=True)
    sock.listen(2048)
    uvicorn.Server(_config(host, port)).run(sockets=[sock])


def serve(host: str, port: int, workers: int) -> None:
    """Serve until stopped (Ctrl+C or SIGTERM), with `workers` processes."""
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.Server(_config(host, port)).run() if workers <= 1 else uvicorn.run(
            APP, factory=True, host=host, port=port, workers=workers, log_level="info", access_log=False)
        return
    try:
        _listening(host, port, share=False).close()  # the port is free
    except OSError as exc:
        raise ValidationFailed(_("Cannot listen on {host}:{port} ({reason}): is another server using it?",
                                 host=host, port=port, reason=exc.strerror or exc)) from None
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(host, port), daemon=False) for _ in range(workers)]
    for process in processes:
        process.start()

    def stop(signum: int, _frame: FrameType | None) -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()  # each process ends its requests in progress, then stops

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.join()
    if any(process.exitcode not in (0, -signal.SIGTERM) for process in processes):
        sys.exit(1)
