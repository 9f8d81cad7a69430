"""storage:, store: and privacy: where evidence and events live, how long they stay, whose faces are blurred."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from vision.config.base import Strict


class Storage(Strict):
    database: Path = Path("var/hallmonitor.db")
    media_dir: Path = Path("var/media")
    heads_dir: Path = Field(Path("var/heads"), description="the hall's own heads (`hallmonitor train`): "
                                                          "versioned files and their models.yaml")
    retention_days: float = Field(30, gt=0)
    max_media_gb: float = Field(20, gt=0)


STORE_URL_HELP = ("a PostgreSQL URL (postgresql://user:password@host:5432/database), or a SQLite file "
                  "(a path, or sqlite:///path); without it, storage.database")


class StoreLocation(Strict):
    """Where the hall's events live: the embedded SQLite file (the default) or a PostgreSQL database."""

    url: str | None = Field(None, description=STORE_URL_HELP)

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme not in ("", "sqlite", "postgresql", "postgres"):
            raise ValueError(f"the URL's scheme is {scheme!r}; give {STORE_URL_HELP}")
        if not value.strip():
            raise ValueError(f"empty; give {STORE_URL_HELP}")
        return value


class Privacy(Strict):
    """PIPL: whose faces are blurred in evidence that leaves the system (vision/privacy/blur.py)."""

    blur_faces: Literal["all_but_staff", "citizen_zone", "off"] = Field(
        "all_but_staff", description="all_but_staff: every face but those in a staff zone; citizen_zone: faces in "
                                     "a citizen zone; off: none")
    admins_see_originals: bool = Field(True, description="admins see unblurred snapshots and clips in the "
                                                         "dashboard (downloads are blurred for everyone)")
