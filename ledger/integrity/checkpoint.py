"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes (Ed25519).

A checkpoint commits to the whole log (origin, size, root hash) in a few lines of
text that any RFC 6962 / sumdb tool can check. Keys use the text forms of Go's
golang.org/x/mod/sumdb/note, so `note.NewVerifier` accepts our verifier keys and our
notes verify with the Go code too:

* verifier key: ``<name>+<8 hex key id>+<base64(0x01 || 32-byte public key)>``
* signer key:   ``PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || 32-byte seed)>``
* key id:       first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key)
* signature line: ``— <name> <base64(key id || 64-byte Ed25519 signature)>``
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_ALG_ED25519 = 0x01
_SIG_PREFIX = "— "  # em dash U+2014, space
_MAX_SIGNATURES = 100  # as golang.org/x/mod/sumdb/note; C2SP requires at least 16
_ROOT_SIZE = 32
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class NoteError(ValueError):
    """A signed note or key is malformed, unsigned, or signed by the wrong key."""


# ------------------------------------------------------------------------ helpers


def _valid_name(name: str) -> bool:
    """Key names: non-empty, no Unicode spaces, no '+' (C2SP signed-note), no controls."""
    if not name or "+" in name or _CONTROL.search(name):
        return False
    return not any(c.isspace() for c in name)


def _key_id(name: str, public_key: bytes) -> int:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([_ALG_ED25519]) + public_key)
    return int.from_bytes(digest.digest()[:4], "big")


def _b64decode(text: str) -> bytes:
    """Strict standard base64 that also refuses non-canonical encodings."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteError("invalid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError("non-canonical base64")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class NoteVerifier:
    """A public Ed25519 note key under a name; give its text() to auditors."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise NoteError(f"invalid key name {self.name!r}: no spaces or '+' allowed")
        if len(self.public_key) != 32:
            raise NoteError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> int:
        """The 32-bit key id that prefixes each signature by this key."""
        return _key_id(self.name, self.public_key)

    def text(self) -> str:
        """Verifier key text, e.g. ``name+1a2b3c4d+AQ...``."""
        blob = _b64(bytes([_ALG_ED25519]) + self.public_key)
        return f"{self.name}+{self.key_id:08x}+{blob}"

    @classmethod
    def from_text(cls, text: str) -> NoteVerifier:
        """Parse a verifier key, checking its key id against its name and key."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or not _HEX8.fullmatch(parts[1]):
            raise NoteError("verifier key must look like <name>+<8 hex>+<base64 key>")
        name, hex_id, blob = parts
        raw = _b64decode(blob)
        if len(raw) != 33 or raw[0] != _ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 (algorithm 1) key")
        verifier = cls(name, raw[1:])
        if verifier.key_id != int(hex_id, 16):
            raise NoteError(f"verifier key id {hex_id} does not match name and key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True if `signature` is this key's Ed25519 signature of `message`."""
        if len(signature) != 64:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


class NoteSigner:
    """A private Ed25519 note key. Its repr never shows the seed."""

    __slots__ = ("_key", "_seed", "_verifier")

    def __init__(self, name: str, seed: bytes) -> None:
        if not _valid_name(name):
            raise NoteError(f"invalid key name {name!r}: no spaces or '+' allowed")
        if len(seed) != 32:
            raise NoteError("an Ed25519 seed is 32 bytes")
        self._seed = bytes(seed)
        self._key = Ed25519PrivateKey.from_private_bytes(self._seed)
        public = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._verifier = NoteVerifier(name, public)

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A fresh random key (from the OS CSPRNG)."""
        return cls(name, os.urandom(32))

    @classmethod
    def from_text(cls, text: str) -> NoteSigner:
        """Parse ``PRIVATE+KEY+<name>+<hex id>+<base64>``; the id must match the key."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not _HEX8.fullmatch(parts[3]):
            raise NoteError("signer key must look like PRIVATE+KEY+<name>+<8 hex>+<base64>")
        raw = _b64decode(parts[4])
        if len(raw) != 33 or raw[0] != _ALG_ED25519:
            raise NoteError("signer key is not an Ed25519 (algorithm 1) key")
        signer = cls(parts[2], raw[1:])
        if signer.key_id != int(parts[3], 16):
            raise NoteError(f"signer key id {parts[3]} does not match name and key")
        return signer

    @property
    def name(self) -> str:
        return self._verifier.name

    @property
    def key_id(self) -> int:
        return self._verifier.key_id

    def text(self) -> str:
        """Secret signer key text; store it only in a 0600 file."""
        blob = _b64(bytes([_ALG_ED25519]) + self._seed)
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{blob}"

    def verifier(self) -> NoteVerifier:
        """The matching public verifier key."""
        return self._verifier

    def sign(self, message: bytes) -> bytes:
        """Raw 64-byte Ed25519 signature."""
        return self._key.sign(message)

    def derive(self, label: bytes) -> bytes:
        """A 32-byte secret for another purpose, named by `label` (HMAC-SHA256 of the seed):
        one key file to keep, and the seed itself never leaves this object."""
        return hmac.new(self._seed, label, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return f"NoteSigner(name={self.name!r}, key_id={self.key_id:08x})"


DEV_KEY_SUFFIX = "-dev"  # a development key's name ends so (ledger.integrity.keys)


def is_dev_key(verifier: NoteVerifier | str) -> bool:
    """A key (or key name) made for development: its name, in every signature, says so."""
    name = verifier if isinstance(verifier, str) else verifier.name
    return name.endswith(DEV_KEY_SUFFIX)


def init_key_file(path: Path, name: str) -> NoteVerifier:
    """Create a new signer key file (mode 0600) and return its public verifier.

    Never overwrites: replacing a log's key would silently orphan every checkpoint
    signed so far, so an existing file is an error the operator must resolve.
    """
    signer = NoteSigner.generate(name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise FileExistsError(
            f"refusing to overwrite existing signing key file {path}; "
            "move it away deliberately if you really mean to replace the log key"
        ) from None
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (signer.text() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return signer.verifier()


def load_signer(path: Path) -> NoteSigner:
    """Read a signer key file written by init_key_file (or Go's note.GenerateKey)."""
    return NoteSigner.from_text(Path(path).read_text(encoding="ascii"))


# --------------------------------------------------------------------- checkpoint


@dataclass(frozen=True)
class Checkpoint:
    """A tlog checkpoint: the log's origin, tree size, root hash and extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise NoteError(f"invalid checkpoint origin {self.origin!r}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise NoteError(f"checkpoint size must be a non-negative integer: {self.size!r}")
        if not isinstance(self.root, bytes) or len(self.root) != _ROOT_SIZE:
            raise NoteError(f"checkpoint root must be {_ROOT_SIZE} bytes")
        if not isinstance(self.extensions, tuple):
            raise NoteError("checkpoint extensions must be a tuple of lines")
        for line in self.extensions:
            if not isinstance(line, str) or not line or "\n" in line or _CONTROL.search(line):
                raise NoteError(f"invalid checkpoint extension line {line!r}")

    @classmethod
    def create(
        cls,
        origin: str,
        size: int,
        root: bytes,
        *,
        position: int | None = None,
        made_at: dt.datetime | None = None,
    ) -> Checkpoint:
        """Build a checkpoint with the optional "position N" and "time ..." lines."""
        lines: list[str] = []
        if position is not None:
            if isinstance(position, bool) or not isinstance(position, int) or position < 0:
                raise NoteError(f"position must be a non-negative integer: {position!r}")
            lines.append(f"position {position}")
        if made_at is not None:
            lines.append(f"time {_format_time(made_at)}")
        return cls(origin, size, root, tuple(lines))

    def body(self) -> str:
        """Note text: origin, size, base64 root, then extension lines, each + newline."""
        lines = [self.origin, str(self.size), _b64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint note text (strictly: canonical size and base64)."""
        if not body.endswith("\n"):
            raise NoteError("checkpoint text must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("checkpoint needs origin, size and root hash lines")
        origin, size_text, root_text, *extensions = lines
        if not _DECIMAL.fullmatch(size_text):
            raise NoteError(f"checkpoint size {size_text!r} is not a canonical decimal")
        root = _b64decode(root_text)
        return cls(origin, int(size_text), root, tuple(extensions))

    def _extension(self, keyword: str) -> str | None:
        prefix = keyword + " "
        values = [line[len(prefix) :] for line in self.extensions if line.startswith(prefix)]
        if len(values) > 1:
            raise NoteError(f"checkpoint has {len(values)} '{keyword}' lines")
        return values[0] if values else None

    @property
    def last_position(self) -> int | None:
        """Event-store position sealed by this checkpoint ("position N" line), if any."""
        text = self._extension("position")
        if text is None:
            return None
        if not _DECIMAL.fullmatch(text):
            raise NoteError(f"bad position extension {text!r}")
        return int(text)

    @property
    def made_at(self) -> dt.datetime | None:
        """When the checkpoint was made ("time YYYY-MM-DDTHH:MM:SS[.ffffff]Z"), if given."""
        text = self._extension("time")
        if text is None:
            return None
        if not _TIME.fullmatch(text):
            raise NoteError(f"bad time extension {text!r}")
        try:
            return dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.UTC)
        except ValueError:
            raise NoteError(f"bad time extension {text!r}") from None


def _format_time(value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise NoteError("checkpoint time must be timezone-aware")
    u = value.astimezone(dt.UTC)
    text = f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
    return text + (f".{u.microsecond:06d}Z" if u.microsecond else "Z")


# --------------------------------------------------------------------- signed note


def _check_text(text: str) -> None:
    if _CONTROL.search(text):
        raise NoteError("note contains control characters other than newline")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError("note is not valid UTF-8 (lone surrogate)") from None


def sign_note(body: str, signer: NoteSigner) -> str:
    """Sign a note text: body, blank line, one signature line by `signer`."""
    if not body.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_text(body)
    signature = signer.sign(body.encode("utf-8"))
    blob = _b64(signer.key_id.to_bytes(4, "big") + signature)
    return f"{body}\n{_SIG_PREFIX}{signer.name} {blob}\n"


def verify_note(text: str, verifier: NoteVerifier) -> str:
    """Return the note text if `verifier` signed it; raise NoteError otherwise.

    Signatures by other keys are ignored (C2SP signed-note: verifiers MUST ignore
    unknown keys), but every signature claiming `verifier`'s name and key id must
    verify, and at least one must be present.
    """
    _check_text(text)
    split = text.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    body, block = text[: split + 1], text[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("malformed note: signature block must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError(f"malformed note: more than {_MAX_SIGNATURES} signatures")
    verified = False
    message = body.encode("utf-8")
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise NoteError(f"malformed note: not a signature line: {line[:40]!r}")
        name, sep, blob = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep or not _valid_name(name):
            raise NoteError(f"malformed note: bad signature line {line[:40]!r}")
        raw = _b64decode(blob)
        if len(raw) < 5:
            raise NoteError("malformed note: signature too short")
        if name != verifier.name or int.from_bytes(raw[:4], "big") != verifier.key_id:
            continue
        if not verifier.verify(message, raw[4:]):
            raise NoteError(f"invalid signature for key {verifier.name}+{verifier.key_id:08x}")
        verified = True
    if not verified:
        raise NoteError(f"note is not signed by key {verifier.name}+{verifier.key_id:08x}")
    return body


def open_note(text: str, verifier: NoteVerifier, *, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint and parse it; optionally require its origin."""
    checkpoint = Checkpoint.parse(verify_note(text, verifier))
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint
