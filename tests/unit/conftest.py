"""Unit-test fixtures: `kernel`, the recording fake of the kernel boundary (fakekernel.py)."""

from fakekernel import kernel  # noqa: F401  (a fixture, found by pytest through this import)
