"""dashboard: where the web dashboard listens, its signing key and cookies, and the address links point to."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from vision.config.base import Strict


class Dashboard(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    secret_key_file: Path = Field(Path("var/secret_key"), description="session signing key, made on first start")
    secure_cookies: bool = Field(False, description="served over HTTPS (behind a TLS proxy): cookies only over "
                                                    "TLS, and HSTS")
    public_url: str | None = Field(None, pattern=r"^https?://[^/?#]+(/[^?#]*)?$",
                                   description="the dashboard's address as the staff's phones reach it, e.g. "
                                               "http://10.1.2.3:8080 (links in robot messages; default "
                                               "http://host:port)")

    def link_base(self) -> str:
        """The address robot messages link to (no trailing slash)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{host}:{self.port}"
