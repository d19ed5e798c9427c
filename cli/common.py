"""What every ``bihuan`` command shares: one convention for errors, settings and the database.

Every command is registered through :class:`Group`, whose ``command`` decorator wraps the
function in :func:`friendly`: an error becomes a message on stderr and a non-zero exit status,
never a traceback. Exit 1 is a refusal or an error the operator can fix (bad input, a missing
file, an unreachable or unmigrated database); exit 2 is an internal error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

import pydantic
import typer
from rich.console import Console
from rich.text import Text
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from engine import Actor, BihuanError, Settings
from engine.clock import CHINA
from engine.errors import ValidationFailed
from engine.storage import Database

# Text from users and files (file names, problem texts, case titles) is printed as it is: no
# rich markup (``[red]``, a stray ``[``), no emoji codes (``:100:``), no highlighting. Styled
# labels are built with :func:`styled`.
out = Console(markup=False, emoji=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])
CLI_ACTOR = Actor("cli", "admin", None)

#: the hint printed under a database error (the two causes an operator meets first)
DB_HINT = "检查 BIHUAN_DATABASE_URL，并先运行 `bihuan db upgrade` (check the URL; migrate first)"


def styled(label: str, style: str, text: str = "") -> Text:
    """``label`` in ``style``, then ``text`` printed literally."""
    return Text.assemble((label, style), " " + text if text else "")


def _say(label: str, text: str) -> None:
    err.print(styled(label, "red", text))


def friendly(func: F) -> F:
    """Turn every error into a message on stderr and an exit status (1, or 2 if internal)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationFailed as exc:
            _say("refused:", f"{len(exc.problems)} problem(s)")
            for p in exc.problems:
                err.print(f"  {p}", markup=False, highlight=False)
        except BihuanError as exc:
            _say(f"error ({exc.code}):", exc.message)
            if exc.retryable:
                err.print("稍后重试可能成功 (a retry may help)", highlight=False)
        except pydantic.ValidationError as exc:
            _say("settings:", _settings_problems(exc))
        except ArgumentError as exc:
            _say("database URL:", str(exc))
            err.print(DB_HINT, highlight=False)
        except DBAPIError as exc:
            _say("database:", _first_line(exc.orig or exc))
            err.print(DB_HINT, highlight=False)
        except SQLAlchemyError as exc:
            _say("database:", _first_line(exc))
            err.print(DB_HINT, highlight=False)
        except (OSError, LookupError) as exc:
            _say("error:", str(exc.args[0]) if len(exc.args) == 1 else str(exc))
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            _say("internal error:", f"{type(exc).__name__}: {exc}")
            raise typer.Exit(2) from None
        raise typer.Exit(1)

    return wrapper  # type: ignore[return-value]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _settings_problems(exc: pydantic.ValidationError) -> str:
    return "; ".join(
        f"BIHUAN_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
    )


class Group(typer.Typer):
    """A Typer whose commands all follow :func:`friendly` (no command can skip it)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(func: F) -> F:
            register(friendly(func))
            return func

        return decorator


def settings_from_env() -> Settings:
    """Settings from the ``BIHUAN_*`` environment (built per command: no module-level state)."""
    return Settings()


@contextmanager
def database(*, pooled: bool = False) -> Iterator[tuple[Settings, Database]]:
    """The settings and a database for one command, disposed of at the end."""
    settings = settings_from_env()
    db = Database(settings.database_url, pooled=pooled)
    try:
        yield settings, db
    finally:
        db.dispose()


def instant(text: str | None) -> datetime | None:
    """An ISO time from the command line in UTC; a time without a zone is Beijing time."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BihuanError(f"not an ISO time: {text!r} (e.g. 2026-10-01T08:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return moment.astimezone(UTC)


def redact(url: str) -> str:
    """A database URL without its credentials."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
