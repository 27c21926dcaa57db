"""The sentence encoder (knowledge/retrieval/encoder.py): BLAS runs on one thread, set once, while several
retrieval threads encode at once (issue 14: a per-call limit raced between threads)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import threadpool_info

from server.knowledge import factory


def _blas_threads() -> set[int]:
    return {int(lib["num_threads"]) for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_blas_stays_on_one_thread_while_threads_encode() -> None:
    encoder = factory.shared_encoder()
    assert _blas_threads() == {1}
    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.update(_blas_threads())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            texts = ["Mein Hund bellt, wenn es klingelt.", "Er zieht an der Leine.", "Sie jagt Katzen."]
            list(pool.map(lambda _: encoder.encode(texts), range(40)))
    finally:
        done.set()
        watcher.join()
    assert seen == {1}
