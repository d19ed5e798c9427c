"""``bihuan db …``: the database schema."""

from __future__ import annotations

from cli.common import Group, database, out, redact, styled

app = Group(help="Database commands.")


@app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    from engine.storage import upgrade

    with database() as (settings, db), out.status("migrating…"):
        upgrade(db)
    out.print(styled("database at head", "green", f"({redact(settings.database_url)})"))
