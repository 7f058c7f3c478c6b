"""Background tasks of the core machinery (Django Tasks API).

The same functions run on the configured backend: the database queue by
default, RQ on Redis when scaled out, or in-process under the test suite.
Both are safe to run twice: dispatching delivers only pending events, and a
job runs only while it is still queued.
"""

from __future__ import annotations

from django_tasks import task
from django_tasks.utils import get_random_id

from rapport.core import jobs
from rapport.core.dispatch import dispatch_pending


def dispatch_until_empty(*, worker_id: str) -> int:
    """Deliver due events batch by batch until a batch delivers none; return the total."""
    total = 0
    while delivered := dispatch_pending(worker_id=worker_id):
        total += delivered
    return total


@task()
def dispatch_outbox() -> int:
    """Deliver the outbox events that are due; enqueued after each commit that emits."""
    return dispatch_until_empty(worker_id=f"task-{get_random_id()}")


@task()
def run_job(job_id: str) -> None:
    """Run the user job ``job_id`` with its registered handler."""
    jobs.job_run(job_id)
