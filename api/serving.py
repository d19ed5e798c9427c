"""``bihuan serve``: uvicorn workers under a supervisor that leaves nothing behind.

The supervisor is uvicorn's own (``Multiprocess``), with three changes:

* **Health check tolerant of a loaded machine.** uvicorn pings every worker twice a second and
  kills one that does not answer within ``timeout_worker_healthcheck`` (5 s by default); on a
  starved machine a healthy worker starting up missed that and was replaced again and again.
  The timeout is ``worker_healthcheck_seconds`` (60 s by default).
* **A bounded stop.** On SIGTERM/SIGINT each worker stops accepting, lets in-flight requests
  finish for up to ``shutdown_grace_seconds``, then cancels them: a command that had not
  committed is abandoned and its transaction rolls back when the process ends. The supervisor
  waits that long (plus a margin) for its workers and then kills any that are still alive, so
  ``bihuan serve`` always exits with every process it started gone.
* **Workers die with their supervisor.** Each worker asks the kernel for SIGTERM when its parent
  dies (``PR_SET_PDEATHSIG``): a supervisor killed with SIGKILL leaves no re-parented worker
  serving.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import time

from api.logs import log_config
from engine.settings import Settings

log = logging.getLogger("uvicorn.error")

#: Seconds the supervisor waits beyond the grace period before it kills a worker.
KILL_MARGIN = 5.0
_PR_SET_PDEATHSIG = 1


def serve(settings: Settings, app: str = "api.app:app_from_env") -> None:
    """Run ``app`` (a factory's import string) with ``settings.workers`` worker processes."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        app,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=max(1, settings.workers),
        proxy_headers=True,
        log_level="info",
        log_config=log_config(),  # tokens in URLs are redacted from the access log
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
    )
    if config.workers == 1:
        config.load_app()
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            sys.exit(3)  # uvicorn's STARTUP_FAILURE
        return

    grace = float(settings.shutdown_grace_seconds)

    class Supervisor(Multiprocess):
        def join_all(self) -> None:
            deadline = time.monotonic() + grace + KILL_MARGIN
            for worker in self.processes:
                worker.process.join(max(0.0, deadline - time.monotonic()))
            for worker in self.processes:
                if worker.process.is_alive():
                    log.warning("worker [%s] did not stop in time: killed", worker.process.pid)
                    worker.process.kill()
                    worker.process.join()

    Supervisor(config, sockets=[config.bind_socket()]).run()


def die_with_parent() -> None:
    """In a worker process: have the kernel send SIGTERM when the supervisor dies (Linux).

    Outside a ``multiprocessing`` child (one worker, tests) this does nothing.
    """
    parent = multiprocessing.parent_process()
    if parent is None or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the supervisor's own stop still applies
        return
    if parent.pid is not None and os.getppid() != parent.pid:
        os.kill(os.getpid(), signal.SIGTERM)  # the supervisor died before we asked
