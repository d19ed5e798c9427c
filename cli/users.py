"""``bihuan users …``: people and their roles."""

from __future__ import annotations

from rich.table import Table
from sqlalchemy import select

from cli.common import Group, database, out

app = Group(help="Users and roles.")


@app.command("list")
def users_list() -> None:
    """Print users with their roles and units."""
    from engine.storage.models import OrgUnit, User, UserRole

    table = Table("user", "name", "role", "unit")
    with database() as (_, db), db.session() as s:
        rows = s.execute(
            select(User.id, User.display_name, UserRole.role, OrgUnit.name)
            .join(UserRole, UserRole.user_id == User.id)
            .join(OrgUnit, OrgUnit.id == UserRole.org_id)
            .order_by(User.id)
        ).all()
    for user_id, name, role, unit in rows:
        table.add_row(user_id, name, role, unit)
    out.print(table)
