"""Loading cameras.yaml: ruamel keeps line numbers (and comments, for the zone editor); pydantic's
errors are mapped back to the file, the line and the key."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from vision.config.base import SLUG, SLUG_HELP
from vision.config.hall_config import HallConfig
from vision.errors import ConfigError


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    return y


def key_path(loc: tuple) -> str:
    """A pydantic error location as the YAML key path a person reads, e.g. ``cameras[0].windows[1].staff_zone``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _line_of(tree: Any, loc: tuple) -> int | None:
    """1-based line of the deepest node on ``loc`` that exists in the ruamel tree."""
    node, line = tree, None
    for part in loc:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(part, int) and isinstance(node, list) and part < len(node):
                if lc is not None:
                    line = lc.item(part)[0] + 1
                node = node[part]
            elif isinstance(node, dict) and part in node:
                if lc is not None:
                    line = lc.key(part)[0] + 1
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
    if line is None and getattr(tree, "lc", None) is not None:
        line = tree.lc.line + 1
    return line


def _clean_pydantic_message(err: Mapping[str, Any]) -> str:
    msg = err["msg"]
    msg = msg.removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown key (check its spelling; see the example cameras.yaml)"
    if err["type"] == "missing":
        return "required key is missing"
    if err["type"] == "string_pattern_mismatch" and (err.get("ctx") or {}).get("pattern") == SLUG:
        return f"an id is {SLUG_HELP} (got {err['input']!r})"
    loc = tuple(err.get("loc", ()))
    credential = bool(loc) and (loc[-1] in ("secret", "secrets")
                                or (loc[0] in ("notify", "store") and loc[-1] == "url"))
    if credential:   # a secret, a robot address with its key, a database URL with its password: never echoed back
        return msg
    if "input" in err and err["type"] not in ("missing",) and not isinstance(err["input"], (dict, list)):
        msg += f" (got {err['input']!r})"
    return msg


MAX_CONFIG_BYTES = 1 << 20       # a hall of 100 cameras is ~100 KB; more is a mistake or an attack
MAX_CONFIG_VALUES = 200_000      # values after YAML aliases are expanded (an alias bomb has billions)


def parse_config(text: str, source: str = "cameras.yaml", base_dir: Path | None = None) -> HallConfig:
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: the config is {len(text) / 1e6:.1f} MB; a hall's config is a few KB "
                          f"(at most {MAX_CONFIG_BYTES // 1024} KB): is this the right file?")
    try:
        tree = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{source}{line}: not valid YAML: {exc.problem or exc}") from None
    if tree is None:
        tree = {}
    if not isinstance(tree, dict):
        raise ConfigError(f"{source}:1: the top level must be a mapping (hall:, cameras:, ...)")
    data = _plain(tree, _Budget(source))
    data["base_dir"] = base_dir or Path(".")
    try:
        config = HallConfig.model_validate(data)
    except ValidationError as exc:
        lines, found = [], []
        for err in exc.errors():
            loc = tuple(err["loc"])
            # drop pydantic's union/function-wrapper hints from the path
            loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
            line_no = _line_of(tree, loc)
            where = f"{source}:{line_no}" if line_no else source
            message = _clean_pydantic_message(err)
            lines.append(f"{where}: {key_path(loc)}: {message}")
            found.append({"loc": loc, "type": err["type"], "msg": message, "ctx": dict(err.get("ctx") or {}),
                          "line": line_no})
        raise ConfigError("\n".join(lines), found) from None
    problems = config.duplicate_ids() + config.notify_problems() + config.grace_problems() + config.missing_files()
    if problems:
        raise ConfigError("\n".join(f"{source}:{_line_of(tree, loc)}: {key_path(loc)}: {msg}"
                                    for loc, msg in problems),
                          [{"loc": tuple(loc), "type": "hall", "msg": msg, "ctx": {}, "line": _line_of(tree, loc)}
                           for loc, msg in problems])
    return config


class _Budget:
    """Counts the values a YAML tree expands to; YAML aliases can make a tiny file expand without end."""

    def __init__(self, source: str):
        self.source, self.left = source, MAX_CONFIG_VALUES

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise ConfigError(f"{self.source}: the config expands to more than {MAX_CONFIG_VALUES:,} values "
                              f"(YAML aliases * / anchors & nested in each other?); write it out plainly")


def _plain(node: Any, budget: _Budget) -> Any:
    budget.spend()
    if isinstance(node, dict):
        return {str(k): _plain(v, budget) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v, budget) for v in node]
    return node


def load_config(path: str | Path) -> HallConfig:
    path = Path(path)
    try:
        if path.is_file() and path.stat().st_size > MAX_CONFIG_BYTES:   # refuse before reading it
            raise ConfigError(f"{path}: the config is {path.stat().st_size / 1e6:.1f} MB; a hall's config is a "
                              f"few KB (at most {MAX_CONFIG_BYTES // 1024} KB): is this the right file?")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (copy cameras.yaml from the project as a start)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from None
    return parse_config(text, source=str(path), base_dir=path.resolve().parent)
