"""``bihuan demo``: seed demo organisations, users, the shipped processes and demo cases."""

from __future__ import annotations

from cli.common import Group, out, settings_from_env

app = Group()


@app.command()
def demo() -> None:
    """Seed demo organisations, users, the shipped processes and demo cases."""
    from demo import seed_demo

    seed_demo(settings_from_env(), out)
