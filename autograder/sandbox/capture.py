"""Bounded capture of a child's stdout/stderr: the head and the tail, never the whole stream.

A submission that prints gigabytes must not grow the grader's memory, so a reader thread drains
the pipe (the child never blocks on a full pipe) and keeps only the first and last bytes.
"""

from __future__ import annotations

import threading
from typing import BinaryIO

from autograder.sandbox.result import CapturedOutput

_CHUNK = 64 * 1024


class BoundedCapture:
    """Drains one pipe on a thread, keeping its first `head` and last `tail` bytes.

    Example:
        >>> capture = BoundedCapture(proc.stdout, head=1024, tail=1024)  # doctest: +SKIP
        >>> capture.start(); proc.wait(); capture.result()               # doctest: +SKIP
    """

    def __init__(self, stream: BinaryIO, *, head: int, tail: int) -> None:
        self._stream = stream
        self._head_limit = head
        self._tail_limit = tail
        self._head = bytearray()
        self._tail = bytearray()
        self._total = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, name="sandbox-capture", daemon=True)

    def start(self) -> None:
        """Start draining the pipe."""
        self._thread.start()

    def feed(self, data: bytes) -> None:
        """Account for `data`, keeping it only if it is in the head or the tail window."""
        with self._lock:
            self._keep(data)

    def _keep(self, data: bytes) -> None:
        self._total += len(data)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data and self._tail_limit:
            self._tail += data[-self._tail_limit :]
            excess = len(self._tail) - self._tail_limit
            if excess > 0:
                del self._tail[:excess]

    def _drain(self) -> None:
        read = getattr(self._stream, "read1", self._stream.read)
        try:
            while True:
                data = read(_CHUNK)
                if not data:
                    break
                self.feed(data)
        except (OSError, ValueError):
            pass
        finally:
            try:
                self._stream.close()
            except OSError:
                pass

    def result(self, timeout_s: float = 5.0) -> CapturedOutput:
        """Wait (up to `timeout_s`) for the end of the stream, then return what was kept.

        The pipe can stay open after the main process ended if a stray process holds it;
        the reader then stops waiting and reports what it has.
        """
        if self._thread.is_alive() or self._thread.ident is not None:
            self._thread.join(timeout_s)
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> CapturedOutput:
        kept = len(self._head) + len(self._tail)
        dropped = self._total - kept
        text = self._head.decode("utf-8", errors="replace")
        if dropped > 0:
            text += f"\n[... {dropped} bytes dropped by the sandbox; {self._total} bytes written in all ...]\n"
        text += self._tail.decode("utf-8", errors="replace")
        return CapturedOutput(text=text, total_bytes=self._total, dropped_bytes=dropped)
