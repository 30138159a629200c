"""Grading on a Dask cluster: `sanitykit grade --dask SCHEDULER_ADDRESS` or `--dask-local N`.

Each submission goes to a dask.distributed worker as bytes (a folder is zipped first, so
the workers need not see the grader's disk), and the worker grades it exactly as local
jobs do: runner.grade_submission, in its own supervised, limited child process
(supervise.py) on the worker's machine. The parent keeps what local grading keeps: it
decides what to reuse (fingerprints, --force) before anything is sent, and writes each
result the moment it comes back. On Ctrl-C it sets a Dask Event that every running task
watches: the task kills its child, and the cluster is left as it was found (`--dask`) or
shut down (`--dask-local`).

Requires the optional extra: pip install 'sanitykit[dask]'.
"""
from __future__ import annotations

import dataclasses
import io
import logging
import shutil
import tempfile
import threading
import uuid
import zipfile
from pathlib import Path
from typing import Any, Iterator, Sequence

from sanitykit._version import __version__
from sanitykit.front.grading.plan import GradingPlan
from sanitykit.front.grading.result import ERRORED, SubmissionResult
from sanitykit.front.grading.rubric import score_checks
from sanitykit.front.grading.submissions import Submission
from sanitykit.front.grading.supervise import NOT_RUN_MESSAGE, Supervisor
from sanitykit.front.starter import tree_files

MISSING_MESSAGE = "--dask needs dask.distributed: pip install 'sanitykit[dask]'"
VERSION_MESSAGE = "Dask worker {worker} has sanitykit {theirs}, this grader {ours}: install the same version"
CONNECT_MESSAGE = "cannot reach the Dask scheduler at {address}: {reason}"
WORKER_FAILED_MESSAGE = "grading on the Dask worker failed: {reason}"
# How long to wait for a scheduler to answer.
CONNECT_TIMEOUT = "20s"
# How often a running task looks at the stop Event (Ctrl-C reaches the children within this),
# and how long Ctrl-C waits for the running tasks to have killed theirs.
STOP_POLL_S = 0.5
STOP_WAIT_S = 30.0


class DaskError(Exception):
    """Dask cannot be used (not installed, no scheduler, another sanitykit); str() is one line."""


# ---------------------------------------------------------------- what travels

def pack_folder(folder: Path) -> bytes:
    """A folder as zip bytes: its files, without links, caches or VCS data (what materialize copies)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in tree_files(folder):
            zf.write(folder / rel, rel)
    return buffer.getvalue()


def pack(submission: Submission) -> tuple[str, bytes]:
    """(file name, bytes) of a submission: a zip as it is, a folder zipped."""
    if submission.is_zip:
        return submission.path.name, submission.path.read_bytes()
    return submission.path.name + ".zip", pack_folder(submission.path)


def grade_remote(name: str, packed: tuple[str, bytes], plan: GradingPlan, fingerprint: str,
                 starter: bytes | None, stop_event: str) -> SubmissionResult:
    """Runs on a worker: unpack, grade in a supervised child, hand the result back.

    Args:
        name: the submission's name (class.csv, its folder).
        packed: (file name, zip bytes) from `pack`.
        plan: the parent's plan (its starter path is replaced by the unpacked starter).
        fingerprint: the parent's fingerprint of the submission.
        starter: the starter folder zipped, or None.
        stop_event: the name of the Dask Event the parent sets on Ctrl-C.
    """
    from distributed import get_client

    from sanitykit.front.grading.runner import grade_submission

    scratch = Path(tempfile.mkdtemp(prefix="sanitykit-dask-"))
    supervisor = Supervisor()
    done = threading.Event()
    # The worker's client is known only in the task's own thread: taken here, used by the watcher.
    watcher = threading.Thread(target=_watch, args=(get_client(), stop_event, supervisor, done), daemon=True)
    try:
        archive = scratch / packed[0]
        archive.write_bytes(packed[1])
        if starter is not None:
            with zipfile.ZipFile(io.BytesIO(starter)) as zf:
                zf.extractall(scratch / "starter")
            plan = dataclasses.replace(plan, starter=str(scratch / "starter"))
        watcher.start()
        return grade_submission(Submission(name, archive), plan, supervisor, fingerprint)
    finally:
        done.set()
        shutil.rmtree(scratch, ignore_errors=True)


def _watch(client: Any, stop_event: str, supervisor: Supervisor, done: threading.Event) -> None:
    """On a worker, beside a running task: kill its child when the parent sets the stop Event."""
    from distributed import Event

    event = Event(stop_event, client=client)
    while not done.is_set():
        try:
            if event.wait(timeout=STOP_POLL_S):
                supervisor.kill_all()
                return
        except Exception:  # noqa: BLE001 - the scheduler gone: nothing left to stop for
            return


def _worker_version() -> str:
    return __version__


# ---------------------------------------------------------------- the parent's side

class DaskJobs:
    """Grades submissions on Dask workers; the same interface as runner.LocalJobs.

    Args:
        plan: rubric, graded checks and limits.
        address: a running scheduler ("tcp://10.0.0.5:8786"), or None with `local_workers`.
        local_workers: start a LocalCluster of this many single-threaded worker processes.
    """

    def __init__(self, plan: GradingPlan, address: str | None = None, local_workers: int | None = None):
        try:
            from distributed import Client, Event, LocalCluster
        except ImportError:
            raise DaskError(MISSING_MESSAGE) from None
        self.plan = plan
        self.cluster = None
        self.futures: list[Any] = []
        try:
            if local_workers:
                # Any free port for the HTTP server (8787 may be taken); the children, not the
                # workers, hold the memory; on 127.0.0.1 only.
                self.cluster = LocalCluster(n_workers=local_workers, threads_per_worker=1, processes=True,
                                            host="127.0.0.1", dashboard_address=":0", memory_limit=0,
                                            silence_logs=logging.ERROR)
            self.client = Client(self.cluster or address, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, RuntimeError) as exc:  # RuntimeError: a worker failed to start
            self._shutdown()
            raise DaskError(CONNECT_MESSAGE.format(address=address or "a local cluster", reason=exc)) from None
        self._check_versions()
        self.stop_name = f"sanitykit-stop-{uuid.uuid4().hex}"
        self.stop_event = Event(self.stop_name, client=self.client)
        self.starter = self.client.scatter(pack_folder(Path(plan.starter)), broadcast=True) if plan.starter else None

    def _check_versions(self) -> None:
        """Every worker must grade with this sanitykit (the fingerprints name its version)."""
        for worker, theirs in self.client.run(_worker_version).items():
            if theirs != __version__:
                self._shutdown()
                raise DaskError(VERSION_MESSAGE.format(worker=worker, theirs=theirs, ours=__version__))

    def results(self, todo: Sequence[tuple[Submission, str]]) -> Iterator[SubmissionResult]:
        from distributed import as_completed

        names = {}
        for submission, fingerprint in todo:
            future = self.client.submit(grade_remote, submission.name, pack(submission), self.plan, fingerprint,
                                        self.starter, self.stop_name, key=f"sanitykit-{submission.name}-{uuid.uuid4().hex}",
                                        pure=False, retries=0)
            names[future.key] = (submission.name, fingerprint)
            self.futures.append(future)
        for future in as_completed(self.futures):
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a worker lost or a sanitykit bug there: that row says so
                yield self._failed(*names[future.key], exc)

    def _failed(self, name: str, fingerprint: str, exc: BaseException) -> SubmissionResult:
        reason = WORKER_FAILED_MESSAGE.format(reason=f"{type(exc).__name__}: {exc}"[:300])
        scores = score_checks(self.plan.graded, {}, NOT_RUN_MESSAGE.format(reason=reason),
                              absent_counts=self.plan.rubric.absent_counts)
        # No fingerprint: a rerun tries it again.
        return SubmissionResult(name, ERRORED, [reason], scores, report={}, fingerprint="")

    def stop(self) -> None:
        """Ctrl-C: the queued tasks are cancelled, the running ones kill their children and end.

        Their children run in sessions of their own, so shutting the workers down would
        not reach them: the running tasks are waited for (a few polls of the stop Event).
        """
        from distributed import wait

        try:
            self.stop_event.set()
            running = {key for keys in self.client.processing().values() for key in keys}
            self.client.cancel([f for f in self.futures if f.key not in running])
            wait([f for f in self.futures if f.key in running], timeout=STOP_WAIT_S)
        except Exception:  # noqa: BLE001 - stopping anyway (a timeout, the scheduler gone)
            pass
        finally:
            self.client.cancel(self.futures, force=True)

    def close(self) -> None:
        self._shutdown()

    def _shutdown(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        if self.cluster is not None:
            self.cluster.close()
