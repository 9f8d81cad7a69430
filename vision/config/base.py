"""What every section of cameras.yaml shares: the strict model, ids (slugs) and frame points."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

Point = tuple[float, float]
# ids name files and URL paths (media/<camera>/...): a slug, never "." or ".." or a path
SLUG = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
SLUG_HELP = "letters, digits, '-' and '_', starting with a letter or digit, at most 64"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
