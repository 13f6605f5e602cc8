"""Unwrap a page saved as one file (`.mhtml`, Chrome and Edge "Webpage, single file"): a MIME multipart/related
message whose first text/html part is the page, quoted-printable or base64, with its address in
Content-Location. Read with the standard library's `email` package; the other parts (styles, images) are
never decoded, let alone run.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass

from rag.documents.readers.base import Problem
from rag.errors import CorpusError


@dataclass(frozen=True)
class SavedPage:
    """The HTML of a single-file save, and the address it was saved from (None when the file does not say)."""

    html: str
    location: str | None


def looks_like_mhtml(raw: bytes) -> bool:
    """Whether a file's first bytes are a MIME message holding a multipart page.

    Args:
        raw: The file's bytes (the first few kilobytes are enough).

    Returns:
        True when its headers declare MIME and a multipart/related body.
    """
    head = raw[:8192].decode("latin-1").casefold()
    return "mime-version:" in head and "multipart/related" in head


def unwrap(raw: bytes, source: str) -> SavedPage:
    """The page inside an `.mhtml` file.

    Args:
        raw: The file's bytes.
        source: The file's name, for errors.

    Returns:
        The first text/html part, decoded to text, and its Content-Location (else the message's
        Snapshot-Content-Location).

    Raises:
        CorpusError: When the file is no MIME multipart message or holds no HTML part.
    """
    if not looks_like_mhtml(raw):
        raise CorpusError([Problem(source, None, "not a single-file web page (.mhtml): no MIME multipart/related "
                                                 "headers; save the page again as 'Webpage, Single File'")])
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in message.walk():
        if part.get_content_type() != "text/html":
            continue
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            html = payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            raise CorpusError([Problem(source, None, f"the page inside is not valid {charset} text")]) from None
        location = part.get("Content-Location") or message.get("Snapshot-Content-Location")
        return SavedPage(html, location.strip() if location else None)
    raise CorpusError([Problem(source, None, "a single-file web page (.mhtml) with no HTML part")])
