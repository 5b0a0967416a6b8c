"""What a performance run is asked to do (how long, how often), and the error it raises when it cannot."""

from __future__ import annotations

from pydantic import ConfigDict
from pydantic.dataclasses import dataclass

from lab.errors import LabError


class BenchError(LabError):
    """A measurement could not be taken (path broken, tool failed)."""


@dataclass(config=ConfigDict(extra="forbid"))
class Settings:
    """How long and how often: defaults for a report, `quick_mode()` for a compare that fits in 2 minutes.

    Saved as the `settings` of results.json (the properties are not).
    """

    duration: float = 5.0  # seconds per iperf3 test (libiperf takes whole seconds: rounded, at least 1)
    repetitions: int = 3
    streams: int = 4  # parallel TCP streams of the tcp_n test
    quick: bool = False

    @classmethod
    def quick_mode(cls) -> Settings:
        return cls(duration=1, repetitions=1, streams=2, quick=True)

    @property
    def seconds(self) -> int:
        return max(1, round(self.duration))

    @property
    def omit(self) -> int:
        """Seconds iperf3 leaves out at the start (TCP slow start), as the public CNI benchmarks do."""
        return 0 if self.quick else 1
