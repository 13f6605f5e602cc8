"""Adding saved pages (adding.py): everything parsed first and nothing copied on any error; names and contents
checked; never over another file; the same bytes not copied twice; new, updated and already-there documents."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.documents import adding
from rag.documents.adding import add_pages
from rag.errors import CorpusError

FIXTURES = Path(__file__).parent / "readers" / "fixtures"


@pytest.fixture
def corpus_dir(tmp_path, seed_page) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(seed_page, folder / seed_page.name)
    return folder


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_adding_copies_the_pages_and_reports_new_updated_and_unchanged(corpus_dir):
    report = add_pages([FIXTURES / "chrome_html_only.html", FIXTURES / "search_results.txt"], corpus_dir)
    assert [target.name for _, target in report.copied] == ["chrome_html_only.html", "search_results.txt"]
    assert (corpus_dir / "chrome_html_only.html").read_bytes() == (FIXTURES / "chrome_html_only.html").read_bytes()
    # new: the 1966 note, the 1970 and 1969 results; updated: the 3 seed documents that gained a URL
    assert sorted(d.date for d in report.new) == ["1966-03", "1969", "1970-06-16"]
    assert sorted(d.date for d in report.updated) == ["1963-04-03", "1963-04-04", "1963-07-08"]
    assert len(report.unchanged) == 17 and report.merged == 5
    assert report.lines()[-1] == ("3 new, 3 updated, 17 already in the corpus "
                                  "(5 documents listed on several pages merged)")


def test_a_bad_file_refuses_them_all_and_copies_nothing(corpus_dir, write_page):
    before = listing(corpus_dir)
    bad = write_page("Sino-Soviet Split, 1960-1984\n\nDocuments on the split.\n\n  • Aprill 3, 1963\n    A\n",
                     "bad.txt")
    with pytest.raises(CorpusError) as info:
        add_pages([FIXTURES / "firefox.html", bad, FIXTURES / "no_entries.html"], corpus_dir)
    assert str(info.value).splitlines()[0].startswith(f"{bad}:5: unreadable date 'Aprill 3, 1963'")
    assert f"{FIXTURES / 'no_entries.html'}: no entries found" in str(info.value)
    assert listing(corpus_dir) == before


@pytest.mark.parametrize(("name", "content", "message"), [
    ("page.pdf", b"%PDF-1.4", "not a page the corpus reads: expected a name ending in .txt, .html"),
    ("page.html", "Sino-Soviet Split\n  • April 03, 1963\n".encode(),
     "named .html but its content is not an HTML page"),
    ("page.txt", b"<!DOCTYPE html><html><body></body></html>",
     "named .txt but its content is not plain text"),
    ("page.mhtml", b"<html></html>", "named .mhtml but its content is not a single-file web page"),
    ("page.txt", b"\x00\x01binary", "named .txt but its content is not plain text"),
])
def test_types_are_checked_by_name_and_content(corpus_dir, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        add_pages([path], corpus_dir)
    assert list(corpus_dir.iterdir()) == [corpus_dir / "000_e07505288b6fd7bd.txt"]


def test_a_file_over_the_size_limit_is_refused(corpus_dir, monkeypatch):
    monkeypatch.setattr(adding, "MAX_FILE_BYTES", 1000)
    with pytest.raises(CorpusError, match=r"chrome_html_only\.html: too large \(0\.0 MB; at most 0 MB a file\)"):
        add_pages([FIXTURES / "chrome_html_only.html"], corpus_dir)


def test_never_over_another_file_and_the_same_bytes_are_a_duplicate_file(corpus_dir, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    same_name = other / "000_e07505288b6fd7bd.txt"  # the seed page's name, other content
    same_name.write_bytes((FIXTURES / "search_results.txt").read_bytes())
    seed_again = other / "copy.txt"
    seed_again.write_bytes((corpus_dir / "000_e07505288b6fd7bd.txt").read_bytes())
    seed_bytes = (corpus_dir / "000_e07505288b6fd7bd.txt").read_bytes()
    report = add_pages([same_name, seed_again], corpus_dir)
    assert [(g, t.name) for g, t in report.copied] == [(same_name, "000_e07505288b6fd7bd-2.txt")]
    assert report.duplicate_files == [(seed_again, corpus_dir / "000_e07505288b6fd7bd.txt")]
    assert (corpus_dir / "000_e07505288b6fd7bd.txt").read_bytes() == seed_bytes
    assert "the same file is in the corpus already" in "\n".join(report.lines())


def test_a_missing_corpus_folder_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="corpus folder does not exist"):
        add_pages([FIXTURES / "firefox.html"], tmp_path / "nowhere")
