"""moto's distributed Map workers, made to take their items in a loop, not by recursion.

moto (5.2.5) runs a distributed Map's items on ``MaxConcurrency`` workers, and a worker takes
its next item by calling itself (``DistributedItemProcessorWorker._eval_pool``): its stack
grows with every item, so a worker given more than about a thousand items (a listing chunk
of 10,000 one-job pages from as many batches at the local command's 8 pages at once, or a
large chunk at ``MapMaxConcurrency`` 1) dies of ``RecursionError``, its item is never
closed, and the execution waits for it forever. On AWS a Map run takes any number of items.
``IterativeMapWorkers`` replaces that one method by the same steps in a loop; undone on
exit. The method is private: ``tests/integration/test_moto_seams.py`` checks it is where
this module expects it.

Why no public API serves: moto exposes no setting for how a Map worker takes its items.
"""

from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
    distributed_item_processor_worker as distributed,
)

SEAM = (distributed.DistributedItemProcessorWorker, "_eval_pool")


def _eval_pool_in_a_loop(worker: Any, job: Any, worker_frame: Any) -> None:
    """moto's ``DistributedItemProcessorWorker._eval_pool``, step for step, with its tail
    call made a loop."""
    while job is not None:
        job_frame = worker_frame.open_inner_frame()
        worker._eval_job(env=job_frame, job=job)
        worker_frame.delete_frame(job_frame)
        if isinstance(job.job_output, Exception) or worker.stopped():
            worker._env.delete_frame(worker_frame)
            worker._job_pool.close_job(job)
            return
        next_job = worker._job_pool.next_job()
        if next_job is None:
            # As moto does: the frame is closed before the job, so that the Map state, which
            # awaits its jobs, finds the owner environment updated.
            worker._env.delete_frame(worker_frame)
            worker._job_pool.close_job(job)
            return
        worker._job_pool.close_job(job)
        job = next_job
    worker._env.delete_frame(worker_frame)


class IterativeMapWorkers:
    def __init__(self) -> None:
        self._original: Any = None

    def install(self) -> None:
        owner, name = SEAM
        if name not in vars(owner):
            raise RuntimeError(f"moto's {owner.__name__}.{name} is gone: the seam moved")
        self._original = vars(owner)[name]
        setattr(owner, name, _eval_pool_in_a_loop)

    def uninstall(self) -> None:
        if self._original is not None:
            owner, name = SEAM
            setattr(owner, name, self._original)
            self._original = None
