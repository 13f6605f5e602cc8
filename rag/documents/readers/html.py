"""Saved HTML pages of the archive (`.html`, `.htm`; `.mhtml` through mhtml.py), read by structure rather than by
class names: an entry is a link to a document page (`.../document/<number or slug>`) with a printed date next to
it. The only module that imports the HTML parser, selectolax (the Lexbor engine).

Chosen by measuring (this machine, `tests/documents/readers/fixtures/chrome_html_only.html` grown to 1000 entries,
308 KB): parse, drop scripts and styles, find the document links: selectolax 7.5 ms, lxml 5.4, BeautifulSoup
with lxml 161, BeautifulSoup with html.parser 199. On the same page with each entry's outer `<div>` left
unclosed (1000 levels deep) lxml silently kept 373 of the 1000 entries (libxml2's depth limit), selectolax all
of them: it parses as browsers do (the HTML5 algorithm), so a browser's saved DOM reads as the browser showed it.

How a page is read:

- Scripts, styles, templates, navigation, the page's own header and footer, forms, dialogs, and any block whose
  class, id or role says cookie, consent, related, breadcrumb, menu, popup or modal are dropped first.
- Each distinct document link (query and fragment dropped, resolved against `<base href>`, else the address the
  page was saved from, else the archive's origin) is one candidate; its entry is the largest element around it
  that holds no link to another document and not the page's `<h1>`. A candidate with no date in its entry is
  no entry (counted in a warning); one whose date cannot be read is an error at file:line.
- The title is the link's text (or the entry's heading when the link is an image or "Read more"), the summary
  the entry's other text; the date is the entry's first element whose own text is a printed date.
- The collection is the page's `<h1>` (a generic one such as "Search" names none: collection ''); the
  description is the page's meta description, else the first paragraph after the `<h1>`; "Results: 41 - 50 of
  62" anywhere outside the entries is the page's position.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from rag.documents.dates import DateError, looks_like_date, parse_printed
from rag.documents.document import Document
from rag.documents.readers.base import Page, Problem
from rag.errors import CorpusError

#: Where the archive's pages live: relative links of a page that says nothing of its address resolve here.
ARCHIVE_ORIGIN = "https://digitalarchive.wilsoncenter.org"
LAYOUT = "html"
_DOCUMENT_PATH_RE = re.compile(r"^/document/([^/]+)/?$")
_NOISE_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "object", "nav", "form", "button",
               "select", "dialog", "aside")
_NOISE_WORDS = frozenset(("cookie", "cookies", "consent", "gdpr", "related", "breadcrumb", "breadcrumbs", "popup",
                          "modal", "menu", "navbar", "share", "social"))
_NOISE_ROLES = frozenset(("navigation", "banner", "contentinfo", "dialog", "alertdialog", "complementary", "search"))
_CONTENT_TAGS = frozenset(("main", "article", "section"))
_BLOCK_TAGS = frozenset((
    "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "summary", "table", "tbody", "thead", "tfoot", "td", "th", "tr", "ul", "time"))
_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_GENERIC_LINKS = frozenset(("read more", "more", "view", "view document", "details", "continue reading", "open",
                            "read more »", "more »", "…", "..."))
_GENERIC_HEADINGS = frozenset(("search", "search results", "results", "documents", "digital archive", "browse",
                               "wilson center digital archive", "page not found"))
_SAVED_FROM_RE = re.compile(r"<!--\s*saved from url=\(\d+\)(\S+?)\s*-->", re.IGNORECASE)
_POSITION_RE = re.compile(r"(\d[\d,]*)\s*[-–]\s*(\d[\d,]*)\s+of\s+(\d[\d,]*)", re.IGNORECASE)
_DATE_LABEL_RE = re.compile(r"^(?:date|dated|published)\s*:?\s*|^(?:c\.|ca\.|circa)\s*", re.IGNORECASE)
_MAX_DATE_CHARS = 60


def looks_like_html(raw: bytes) -> bool:
    """Whether a file's first bytes are an HTML page.

    Args:
        raw: The file's bytes (the first few kilobytes are enough).

    Returns:
        True when they hold a doctype, `<html`, `<head` or `<body`.
    """
    head = raw[:4096].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n").casefold()
    return head.startswith(("<!doctype html", "<html", "<!--", "<head", "<meta")) or any(
        tag in head for tag in ("<html", "<body", "<head"))


class HtmlReader:
    """Saved HTML pages of the archive (the reader `corpus.read_file` uses for .html, .htm and, unwrapped,
    .mhtml)."""

    name = LAYOUT
    expects = "links to the archive's document pages (/document/N), each with a date next to it"

    def read(self, text: str, source: str, location: str | None = None, layout: str = LAYOUT) -> Page:
        """Read a saved HTML page.

        Args:
            text: The page's HTML.
            source: The file's name, for documents' origins and errors.
            location: The address the page was saved from, when the file says (an mhtml's Content-Location);
                None: a `<!-- saved from url=... -->` comment, else the archive's origin.
            layout: The layout name reported (`mhtml` for a single-file save).

        Returns:
            The page's collection ('' when it names none), description, position and documents with their URLs.

        Raises:
            CorpusError: A page with no entries, naming the file; an entry whose date cannot be read, at file:line.
        """
        from selectolax.lexbor import LexborHTMLParser

        tree = LexborHTMLParser(text)
        base = _base_url(tree, text, location)
        description = _meta_description(tree)
        body = tree.body or tree.root
        if body is None:
            raise CorpusError([Problem(source, None, f"no entries found: an empty page (expected {self.expects})")])
        _drop_noise(body)
        heading = body.css_first("h1")
        links = _document_links(body, base)
        under = _urls_under(links)
        outside = {a.mem_id for a in _ancestors(heading)} if heading is not None else set()
        boxes, documents, problems, dateless = [], [], [], []
        for url, its_links in links.items():
            box = _entry_box(its_links[0], under, outside)
            boxes.append(box)
            try:
                fields = _entry_fields(box, url, its_links, source, _line_of(text, its_links[0], location))
            except CorpusError as exc:
                problems.extend(exc.problems)
                continue
            if fields is None:
                dateless.append(url)
            else:
                documents.append(fields)
        if problems:
            raise CorpusError(problems)
        if not documents:
            raise CorpusError([Problem(source, None, f"no entries found (expected {self.expects}, outside "
                                                     "navigation, header, footer and related blocks)")])
        name = _collection_name(heading, tree)
        for box in boxes:
            box.decompose()
        chunks = _chunks(body)
        position = next((f"{m[1]} - {m[2]} of {m[3]}" for c in chunks if len(c) <= 60
                         for m in [_POSITION_RE.search(c)] if m), None)
        if description is None and heading is not None and heading.parent is not None:
            after = _chunks(heading.parent)[1:]
            description = next((c for c in after if len(c) >= 40 and not _POSITION_RE.search(c)), None)
        documents = [Document.create(collection=name, source=source, **fields) for fields in documents]
        warnings = [Problem(source, None, f"ignored {len(dateless)} document link(s) with no date next to them "
                                          f"(first: {dateless[0]})")] if dateless else []
        return Page(source, name, documents, warnings, layout=layout, description=description, position=position)


READER = HtmlReader()


def _base_url(tree, text: str, location: str | None) -> str:
    saved_from = _SAVED_FROM_RE.search(text[:4096])
    page = location or (saved_from[1] if saved_from else None) or ARCHIVE_ORIGIN + "/"
    base = tree.css_first("base[href]")
    return urljoin(page, base.attributes.get("href") or "") if base is not None else page


def _meta_description(tree) -> str | None:
    meta = tree.css_first('meta[name="description"]')
    content = " ".join((meta.attributes.get("content") or "").split()) if meta is not None else ""
    return content or None


def _words(node) -> set[str]:
    attrs = node.attributes
    text = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".casefold()
    return set(re.split(r"[\s_-]+", text))


def _drop_noise(body) -> None:
    doomed = list(body.css(", ".join(_NOISE_TAGS)))
    for node in body.traverse():
        if node.tag in ("header", "footer") and not any(a.tag in _CONTENT_TAGS for a in _ancestors(node)):
            doomed.append(node)  # the page's own header and footer, not an article's
        elif node.tag != "-comment" and ((node.attributes.get("role") or "").casefold() in _NOISE_ROLES
                                         or _words(node) & _NOISE_WORDS):
            doomed.append(node)
    for node in doomed:
        node.decompose()


def _ancestors(node):
    node = node.parent
    while node is not None and node.tag not in ("html", "-undef"):
        yield node
        node = node.parent


def _document_links(body, base: str) -> dict[str, list]:
    """Each distinct document URL (absolute, without query or fragment) and its links, in page order."""
    found: dict[str, list] = {}
    for link in body.css("a[href]"):
        url = urlsplit(urljoin(base, (link.attributes.get("href") or "").strip()))
        if url.scheme in ("http", "https") and _DOCUMENT_PATH_RE.match(url.path):
            found.setdefault(f"{url.scheme}://{url.netloc}{url.path.rstrip('/')}", []).append(link)
    return found


def _urls_under(links: dict[str, list]) -> dict[int, set[str]]:
    """For each element holding a document link, the document URLs under it (by the element's `mem_id`)."""
    under: dict[int, set[str]] = {}
    for url, its_links in links.items():
        for link in its_links:
            for node in (link, *_ancestors(link)):
                under.setdefault(node.mem_id, set()).add(url)
    return under


def _entry_box(link, under: dict[int, set[str]], outside: set[int]):
    """The largest element around `link` with no link to another document and not holding the page's h1."""
    box = link
    for parent in _ancestors(link):
        if parent.tag == "body" or parent.mem_id in outside or len(under.get(parent.mem_id, ())) > 1:
            break
        box = parent
    return box


def _collection_name(heading, tree) -> str:
    """The page's h1, else its <title> before ' | '; '' when neither names a collection."""
    title = tree.css_first("title")
    for candidate in (heading.text(deep=True) if heading is not None else "",
                      (title.text(deep=True) if title is not None else "").split(" | ")[0]):
        name = " ".join(candidate.split())
        if name and name.casefold() not in _GENERIC_HEADINGS:
            return name
    return ""


def _chunks(node) -> list[str]:
    """The element's text as the browser would break it into blocks, whitespace collapsed (no recursion: a
    broken page may nest thousands deep)."""
    out: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = " ".join("".join(current).split())
        current.clear()
        if text:
            out.append(text)

    stack = [(node, False)]
    while stack:
        item, closing = stack.pop()
        if closing:
            flush()
            continue
        if item.tag == "-text":
            current.append(item.text(deep=False))
            continue
        if item.tag == "-comment":
            continue
        block = item.tag in _BLOCK_TAGS
        if block:
            flush()
            stack.append((item, True))
        stack.extend((child, False) for child in reversed(list(item.iter(include_text=True))))
    flush()
    return out


def _line_of(text: str, link, location: str | None) -> int | None:
    """The link's line in the file (None for an unwrapped single-file save, whose lines are not the file's)."""
    if location is not None:
        return None
    href = link.attributes.get("href") or ""
    at = text.find(f'"{href}"') if href else -1
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def _entry_fields(box, url: str, links: list, source: str, line: int | None) -> dict | None:
    """The entry's date, title, summary, URL and line; None when no date is next to its link."""
    date_text, shaped = None, None
    for node in box.traverse():
        if node.tag == "-comment":
            continue
        own = " ".join((node.text(deep=False) or "").split())
        if not own or len(own) > _MAX_DATE_CHARS:
            continue
        bare = _DATE_LABEL_RE.sub("", own)
        try:
            date = parse_printed(bare)
        except DateError:
            shaped = shaped or (bare if looks_like_date(bare) else None)
            continue
        date_text = bare
        break
    if date_text is None:
        if shaped is not None:
            try:
                parse_printed(shaped)
            except DateError as exc:
                raise CorpusError([Problem(source, line, f"entry linking to {url}: {exc}")]) from None
        return None
    link_texts = [" ".join(a.text(deep=True).split()) for a in links]
    titles = [t for t in link_texts if t and t.casefold() not in _GENERIC_LINKS]
    chunks = _chunks(box)
    if titles:
        title = max(titles, key=len)
    else:
        headings = [" ".join(h.text(deep=True).split()) for h in box.traverse() if h.tag in _HEADINGS]
        title = next((h for h in headings if h), None) or next((c for c in chunks if c != date_text), None)
    if not title:
        raise CorpusError([Problem(source, line, f"entry linking to {url} dated {date_text!r} has no title")])
    skip = {date_text, title, *link_texts}
    summary = " ".join(c for c in chunks if c not in skip and c.casefold() not in _GENERIC_LINKS
                       and _DATE_LABEL_RE.sub("", c) != date_text) or None
    return {"date": date, "date_text": date_text, "title": title, "summary": summary, "url": url, "line": line}
