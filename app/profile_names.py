"""Profile names and the file names they are stored under (no DSP: the CLI checks names early).

A person may be called anything in any script. The file name is a readable slug of the
name plus the first 8 hex digits of the SHA-256 of the exact (NFC-normalised) name, so
``Zoë`` and ``Zoé`` are two files (``Zo-…``), ``Анна`` is ``Анна-…``, and a name can never
land in another person's file.
"""

import hashlib
import re
import unicodedata

#: Longest profile name, characters.
MAX_NAME = 80
_SLUG = re.compile(r"[^\w.-]+")
_HASH_CHARS = 8


class ProfileError(ValueError):
    """A profile that cannot be found, read or written; the message says which and why."""


#: The error of a bad name (the same class: every profile problem is one kind).
ProfileNameError = ProfileError


def check_name(name: object) -> str:
    """The profile name as stored (NFC, stripped); ProfileError when unusable.

    Any script is fine; empty names, control or invisible format characters and names
    over :data:`MAX_NAME` characters are not.
    """
    if not isinstance(name, str):
        raise ProfileError(f"profile name {name!r} is not text")
    clean = unicodedata.normalize("NFC", name.strip())
    if not clean:
        raise ProfileError("a profile needs a name (it was empty)")
    if len(clean) > MAX_NAME:
        raise ProfileError(f"profile name {clean[:20]!r}... is longer than {MAX_NAME} characters")
    if any(unicodedata.category(c)[0] == "C" for c in clean):
        raise ProfileError(f"profile name {clean!r} holds control or invisible characters")
    return clean


def file_stem(name: object) -> str:
    """``slug-hash`` of a checked name: readable, and distinct for distinct names."""
    clean = check_name(name)
    slug = _SLUG.sub("_", clean).strip("._")[:40] or "profile"
    digest = hashlib.sha256(clean.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    return f"{slug}-{digest}"
