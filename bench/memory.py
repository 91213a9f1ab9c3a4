"""Workload 7: peak resident memory of the local runtime and of each server, sampled every 0.5 s for the whole
run (peak of the samples, and the kernel's high-water mark VmHWM where the process still exists)."""

from __future__ import annotations

import threading
from typing import Any

from machine import group_peak_rss_mb, rss_mb


class MemorySampler:
    def __init__(self) -> None:
        self._targets: dict[str, tuple[int, bool]] = {}  # name -> (pid, is_group)
        self.peaks: dict[str, float] = {}
        self.hwm: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def watch(self, name: str, pid: int, *, group: bool = False) -> None:
        self._targets[name] = (pid, group)

    def start(self) -> None:
        self._thread.start()

    def sample(self) -> None:
        for name, (pid, group) in list(self._targets.items()):
            now = group_peak_rss_mb(pid) if group else rss_mb(pid)
            if now.get("rss_mb"):
                self.peaks[name] = max(self.peaks.get(name, 0.0), now["rss_mb"])
            if now.get("peak_rss_mb"):
                self.hwm[name] = max(self.hwm.get(name, 0.0), now["peak_rss_mb"])

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()

    def stop(self) -> dict[str, Any]:
        self.sample()
        self._stop.set()
        return {
            name: {"peak_rss_mb_sampled": self.peaks.get(name), "peak_rss_mb_hwm": self.hwm.get(name)}
            for name in self._targets
        }
