"""`hallmonitor users`, `tokens` and `webhooks`: who may log in, integrators' tokens, webhook secrets."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def users() -> None:
    """Dashboard accounts."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "manager", "viewer"]), default="viewer", show_default=True)
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input instead of a prompt")
def users_add(username: str, role: str, config_path: Path, password_stdin: bool) -> None:
    """Create a user (the first admin is made this way)."""
    from dashboard.accounts import Accounts
    from vision.config import load_config
    from vision.store.database import Store
    config = load_config(config_path)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with Store(config.store_target()) as store:
        user = Accounts(store).add_user(username, password, role)
    click.echo(f"user {user['username']} ({user['role']}) created in {store.where}")


@click.group()
def tokens() -> None:
    """API tokens for integrators (Authorization: Bearer hm_...)."""


def _accounts(config_path: Path):
    from dashboard.accounts import Accounts
    from vision.config import load_config
    from vision.store.database import Store
    config = load_config(config_path)
    store = Store(config.store_target())
    return store, Accounts(store)


@tokens.command("add")
@click.argument("name")
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True,
              help="read: events, media, health; write: also reviews and window pause/resume")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
def tokens_add(name: str, scope: str, config_path: Path) -> None:
    """Make a token; it is printed once and never stored (only its hash is)."""
    import getpass
    store, accounts = _accounts(config_path)
    with store:
        token, secret = accounts.create_token(name, scope, created_by=f"cli:{getpass.getuser()}")
    click.echo(f"token {token['id']} ({token['scope']}) for {token['name']!r}; keep it now, it is not shown again:",
               err=True)
    click.echo(secret)


@tokens.command("list")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
def tokens_list(config_path: Path) -> None:
    """Every token: id, scope, name, who made it, when last used, revoked or not."""
    from datetime import datetime
    store, accounts = _accounts(config_path)
    with store:
        rows = accounts.tokens()
    when = lambda ts: "-" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")  # noqa: E731
    click.echo(f"{'id':<17} {'scope':<5} {'created':<16} {'last used':<16} {'revoked':<16} name (by)")
    for t in rows:
        click.echo(f"{t['id']:<17} {t['scope']:<5} {when(t['created_at']):<16} {when(t['last_used_at']):<16} "
                   f"{when(t['revoked_at']):<16} {t['name']} ({t['created_by'] or '-'})")


@tokens.command("revoke")
@click.argument("token_id")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
def tokens_revoke(token_id: str, config_path: Path) -> None:
    """Revoke a token at once (its next request answers 401)."""
    store, accounts = _accounts(config_path)
    with store:
        token = accounts.revoke_token(token_id)
    click.echo(f"token {token['id']} ({token['name']!r}) revoked")


@click.group()
def webhooks() -> None:
    """Webhooks for integrators (Standard Webhooks: signed, retried)."""


@webhooks.command("secret")
def webhooks_secret() -> None:
    """Print a new signing secret (whsec_...) for a webhook endpoint in cameras.yaml."""
    from vision.webhooks.signing import new_secret
    click.echo(new_secret())
