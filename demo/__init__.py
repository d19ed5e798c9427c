"""Demo data and scenario drivers: seed organisations, users, the shipped processes and demo
cases (``bihuan demo``); drive cases through the loop for tests and benchmarks."""

from demo.seed import seed_demo

__all__ = ["seed_demo"]
