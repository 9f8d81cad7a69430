"""The one writer of models/models.yaml: entries spliced in as text with ruamel's round trip, so every
comment and every other entry stays byte for byte; written atomically (temp file + rename).

`hallmonitor models add`, the converters, the quantizer, the backbone export and the hall's heads all
write through here."""

from __future__ import annotations

import io
import os
import re
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from vision.errors import ModelError
from vision.models.manifest import ModelSpec, load_manifest, verify

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")



def _flow(items) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _flow_map(items: dict) -> CommentedMap:
    m = CommentedMap(items)
    m.fa.set_flow_style()
    return m


def _yaml() -> YAML:
    yaml = YAML()   # round trip: comments, order and quoting survive
    yaml.preserve_quotes = True
    yaml.width = 110
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load_manifest_doc(manifest: Path, header: str | None = None):
    """(yaml, round-trip document, text) of the manifest; a new, empty one (``header``) if it does not exist."""
    yaml = _yaml()
    text = (manifest.read_text(encoding="utf-8") if manifest.exists() else header or
            "# hallmonitor model manifest: what each model file is (see `hallmonitor models add`)\nversion: 1\n")
    try:
        doc = yaml.load(text)
    except Exception as exc:  # ruamel's parser and scanner errors have no common public base
        raise ModelError(f"{manifest}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ModelError(f"{manifest}: needs a `models:` mapping of name -> model")
    if not doc.get("models"):   # missing, null or {}: a fresh block mapping
        doc["models"] = CommentedMap()
    if not isinstance(doc["models"], dict):
        raise ModelError(f"{manifest}: `models:` must be a mapping of name -> model")
    return yaml, doc, text


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _splice(text: str, doc, name: str, entry_text: str, after: str | None = None) -> str | None:
    """The manifest text with model ``name``'s block replaced by (or ``entry_text`` appended as) a new one.

    Every other line stays byte for byte as it was (ruamel's full dump would re-wrap the other
    entries' flow lists). Returns None where the layout is not the plain block mapping this expects.
    """
    models = doc["models"]
    keys = list(models)
    if not keys:
        return None
    try:
        pos = {k: models.lc.key(k) for k in keys}
    except (AttributeError, KeyError, TypeError):
        return None
    col = pos[keys[0]][1]
    if any(c != col for _, c in pos.values()):
        return None
    lines = text.splitlines(keepends=True)

    def block(k: str) -> tuple[int, int]:
        start = pos[k][0]
        i = keys.index(k)
        end = pos[keys[i + 1]][0] if i + 1 < len(keys) else len(lines)
        if i + 1 == len(keys):   # the last entry ends at the first line indented no deeper than its key
            j = start + 1
            while j < end and (not lines[j].strip() or _indent(lines[j]) > col):
                j += 1
            end = j
        while end > start + 1 and (not lines[end - 1].strip()
                                   or (lines[end - 1].lstrip().startswith("#") and _indent(lines[end - 1]) <= col)):
            end -= 1   # blank lines and comments of the next entry (or of the file's end) stay where they are
        return start, end

    new = [" " * col + line + "\n" for line in entry_text.splitlines()]
    if name in models:
        start, end = block(name)
        lines[start:end] = new
    else:
        _, end = block(after if after is not None and after in models else keys[-1])
        if end and not lines[end - 1].endswith("\n"):
            lines[end - 1] += "\n"
        lines[end:end] = new
    return "".join(lines)


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` a file beside ``path``, then move it into place: no half-written file on failure."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def entry_from_yaml(text: str, name: str) -> CommentedMap:
    """Model ``name``'s mapping from YAML text holding ``name: {...}`` (its comments and flow lists
    kept), for ``write_entry``: the conversion scripts lay their entries out as text."""
    doc = _yaml().load(textwrap.dedent(text))
    if not isinstance(doc, dict) or not isinstance(doc.get(name), dict):
        raise ModelError(f"model entry {name!r}: the text does not hold a `{name}:` mapping")
    return doc[name]


def write_entry(manifest: Path, name: str, entry: dict, after: str | None = None,
                header: str | None = None) -> ModelSpec:
    """Add model ``name`` to ``manifest`` or replace its entry: the one writer of models.yaml
    (``models add``, the heads, and the conversion scripts under models/ all come through here).

    A new entry goes after model ``after`` when given (e.g. an int8 file after its float source),
    else at the end of ``models:``. A manifest that does not exist yet starts as ``header`` (comment
    lines, ``version: 1``, ``models:``) when given.

    ``entry`` is the model's mapping (file, sha256, size_bytes, family, task, ...; a ruamel
    CommentedMap keeps end-of-line comments and flow lists). Every other line of the file stays
    byte for byte as it was where the layout allows, else ruamel's round trip keeps the comments.
    The file is replaced atomically; the new entry is read back and its file's sha256 checked.
    """
    manifest = Path(manifest)
    if not NAME_RE.match(name):
        raise ModelError(f"model name {name!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    yaml, doc, text = _load_manifest_doc(manifest, header)
    models = doc["models"]
    old_plain = YAML(typ="safe").load(text) or {}
    stream = io.StringIO()
    yaml.dump({name: entry}, stream)
    entry_text = "\n".join(line.rstrip() for line in stream.getvalue().splitlines())
    new_text = _splice(text, doc, name, entry_text, after)
    if new_text is not None:   # check the splice: the new entry as meant, every other model untouched
        try:
            new_plain = YAML(typ="safe").load(new_text) or {}
            want = YAML(typ="safe").load(entry_text)[name]
            others_same = ({k: v for k, v in (new_plain.get("models") or {}).items() if k != name}
                           == {k: v for k, v in (old_plain.get("models") or {}).items() if k != name})
            if new_plain["models"].get(name) != want or not others_same:
                new_text = None
        except Exception:  # a splice that does not parse: fall back to ruamel's full dump
            new_text = None
    if new_text is None:   # ruamel round trip of the whole file: comments survive, flow lists are re-wrapped
        if name in models:
            models[name] = entry
        else:
            keys = list(models)
            models.insert(keys.index(after) + 1 if after in keys else len(keys), name, entry)
        stream = io.StringIO()
        yaml.dump(doc, stream)
        new_text = "\n".join(line.rstrip() for line in stream.getvalue().splitlines()) + "\n"
    _atomic_write(manifest, lambda tmp_file: tmp_file.write_text(new_text, encoding="utf-8"))

    spec = load_manifest(manifest)[name]
    verify(spec)
    return spec


def remove_entry(manifest: Path, name: str) -> bool:
    """Take model ``name`` out of ``manifest`` (every other line stays as it was); False if it was not there."""
    manifest = Path(manifest)
    if not manifest.exists():
        return False
    yaml, doc, text = _load_manifest_doc(manifest)
    models = doc["models"]
    if name not in models:
        return False
    keys = list(models)
    lines = text.splitlines(keepends=True)
    start = models.lc.key(name)[0]
    i = keys.index(name)
    if i + 1 < len(keys):
        end = models.lc.key(keys[i + 1])[0]
    else:
        end, col = start + 1, models.lc.key(name)[1]
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > col):
            end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    new_text = "".join(lines[:start] + lines[end:])
    left = (YAML(typ="safe").load(new_text) or {}).get("models") or {}
    before = YAML(typ="safe").load(text)["models"]
    if left != {k: v for k, v in before.items() if k != name}:
        raise ModelError(f"{manifest}: removing {name!r} would change other entries; edit the file by hand")
    _atomic_write(manifest, lambda tmp_file: tmp_file.write_text(new_text, encoding="utf-8"))
    return True


def write_footer(manifest: Path, mark: str, footer: str) -> None:
    """Replace the comment block that starts with the line ``mark`` (to the end of ``manifest``) by
    ``footer``, or append it: e.g. the licence notice that covers a package's model files."""
    manifest = Path(manifest)
    text = manifest.read_text(encoding="utf-8")
    if any(line.strip() and not line.lstrip().startswith("#") for line in footer.splitlines()):
        raise ModelError(f"{manifest}: a footer must be comment lines only")
    body, sep, _old = text.partition("\n" + mark)
    new_text = (body if sep else text).rstrip("\n") + "\n" + footer.rstrip("\n") + "\n"
    if YAML(typ="safe").load(new_text) != YAML(typ="safe").load(text):
        raise ModelError(f"{manifest}: the footer would change the models; it must come after them")
    _atomic_write(manifest, lambda tmp_file: tmp_file.write_text(new_text, encoding="utf-8"))
