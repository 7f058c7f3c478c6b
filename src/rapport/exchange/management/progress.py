"""A terminal progress bar for the exchange commands, fed by a service's ``progress``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from rapport.core.jobs import Progress


@contextmanager
def progress_bar(description: str, *, enabled: bool) -> Iterator[Progress]:
    """A ``progress(done, total)`` callback drawing a bar on standard error; silent when
    not ``enabled`` or when standard error is not a terminal."""
    bar = tqdm(
        desc=description,
        unit=" items",
        unit_scale=True,
        file=sys.stderr,
        disable=None if enabled else True,
        dynamic_ncols=True,
    )

    def progress(done: int, total: int | None) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    with bar:
        yield progress
