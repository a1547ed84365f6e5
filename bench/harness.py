"""A small timing harness: warm-up, repeated runs, medians and p95, never a single run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p95_ms: float
    runs: int


def measure(fn: Callable[[], object], *, warmup: int = 5, repeat: int = 50) -> Timing:
    """Time `fn` `repeat` times after `warmup` untimed calls; milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95_index = max(0, min(len(samples) - 1, round(0.95 * len(samples)) - 1))
    return Timing(median_ms=statistics.median(samples), p95_ms=samples[p95_index], runs=repeat)


def measure_pair(
    first: Callable[[], object], second: Callable[[], object], *, warmup: int = 5, repeat: int = 50
) -> tuple[Timing, Timing]:
    """Time two calls alternately, so drift on a shared machine weighs on both alike."""
    for _ in range(warmup):
        first()
        second()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, bucket in ((first, samples[0]), (second, samples[1])):
            start = time.perf_counter()
            fn()
            bucket.append((time.perf_counter() - start) * 1000)
    return tuple(_timing(bucket) for bucket in samples)  # type: ignore[return-value]


def _timing(samples: list[float]) -> Timing:
    samples = sorted(samples)
    p95_index = max(0, min(len(samples) - 1, round(0.95 * len(samples)) - 1))
    return Timing(median_ms=statistics.median(samples), p95_ms=samples[p95_index], runs=len(samples))


@dataclass
class Result:
    """One line of the report: the figure, its baseline from the same run, and their ratio."""

    name: str
    figure: float
    unit: str
    baseline: float
    baseline_name: str
    p95: float | None = None
    baseline_p95: float | None = None
    target: str = ""
    notes: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.figure / self.baseline if self.baseline else float("inf")

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": round(self.ratio, 3)}

    def line(self) -> str:
        p95 = f" (p95 {self.p95:.3f})" if self.p95 is not None else ""
        return (
            f"{self.name}: {self.figure:.3f} {self.unit}{p95} vs {self.baseline_name} "
            f"{self.baseline:.3f} {self.unit} -> ratio {self.ratio:.2f}"
        )


def timed_result(name: str, subject: Timing, baseline: Timing, baseline_name: str, **kwargs) -> Result:
    return Result(
        name=name,
        figure=subject.median_ms,
        unit="ms (median)",
        baseline=baseline.median_ms,
        baseline_name=baseline_name,
        p95=subject.p95_ms,
        baseline_p95=baseline.p95_ms,
        **kwargs,
    )
