"""Photos of one network size in one network call, where the session can take several.

On a GPU, a forward pass over a few photos at once costs little more than over one, so the
engines hand the network the photos decoded so far (up to ``batch_size``) together and this
module groups them by the size the network sees (:func:`modnet.network_size` at the run's
input size): photos of one camera, or of one catalogue's format, share it. A group goes to
``session.predict_batch(images, input_size, timings, quality)``, which returns one
:class:`modnet.MattingResult` per image, as :meth:`modnet.MattingSession.predict` does for one;
where the session has no such method, or does not run its pipeline on a device (on the CPU a
pass already uses every core), each photo goes through ``predict`` alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from modnet import MattingSession, network_size

from .work import Job, PhotoWork


def network_groups(jobs: Sequence[Job], input_size: int) -> list[list[Job]]:
    """``jobs`` grouped by the network size of their photos, in order of first appearance,
    each group in the jobs' order."""
    groups: dict[tuple[int, int], list[Job]] = {}
    for job in jobs:
        assert job.rgb is not None  # a decoded photo
        groups.setdefault(network_size(*job.rgb.shape[:2], input_size), []).append(job)
    return list(groups.values())


def batch_predictor(session: MattingSession) -> Callable | None:
    """The session's ``predict_batch`` where photos gain from sharing a call, else None."""
    predict_batch = getattr(session, "predict_batch", None)
    return predict_batch if callable(predict_batch) and session.on_device else None


def matte_group(jobs: list[Job], predict_batch: Callable, input_size: int, quality: str) -> bool:
    """Mattes ``jobs`` (photos of one network size) in one call; each job's ``network`` and
    ``forward`` seconds are its share of the call's. Returns False, leaving the jobs as they
    were, when the call fails: the caller then mattes them one by one, so that a bad photo
    fails alone."""
    start = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        results = predict_batch([job.rgb for job in jobs], input_size, timings, quality)
    except Exception:  # retried photo by photo, where the failure is told to its photo
        return False
    share = (time.perf_counter() - start) / len(jobs)
    for job, result in zip(jobs, results, strict=True):
        job.matte = result.matte
        job.seconds["network"] = job.seconds.get("network", 0.0) + share
        job.seconds["forward"] = timings.get("forward", 0.0) / len(jobs)
    return True


def matte_jobs(work: PhotoWork, jobs: Sequence[Job], batch_size: int) -> None:
    """Mattes the decoded ``jobs`` (failed ones are passed over): up to ``batch_size`` photos
    of one network size in one call where the session batches them, else one by one."""
    ready = [job for job in jobs if not job.error]
    predict_batch = batch_predictor(work.session) if batch_size > 1 else None
    if predict_batch is None:
        for job in ready:
            work.matte(job)
        return
    options = work.options
    for group in network_groups(ready, options.input_size):
        for start in range(0, len(group), batch_size):
            part = group[start : start + batch_size]
            batched = len(part) > 1 and matte_group(
                part, predict_batch, options.input_size, options.quality
            )
            if not batched:
                for job in part:
                    work.matte(job)
