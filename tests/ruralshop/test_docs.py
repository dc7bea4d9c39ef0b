"""The README and docs/ stand on their own: every link they hold resolves inside a clone of the repository.

A clone elsewhere has no ``../shared/`` next to it and no ``/work`` on its disk, so such a link is
dead for every reader but one machine.  Links inside code (fenced blocks, `inline code`) are
examples, not links, and are skipped; URLs with a scheme (https:, mailto:) are not files.
"""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^>\s]*)>")  # CommonMark: a scheme is required
HTML = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _prose(text: str) -> str:
    """The text without code: fenced blocks and inline code spans (their link text stays a link)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    prose = _prose(text)
    found = []
    for pattern in (INLINE_LINK, REFERENCE, AUTOLINK, HTML):
        found += [m.group(1) for m in pattern.finditer(prose)]
    return [link for link in found if link]


def _relative_target(document: Path, link: str) -> Path | None:
    """The file a link names, or None when it is a URL or a jump within the same page."""
    if link.startswith("#") or (SCHEME.match(link) and not link.lower().startswith("file:")):
        return None
    path = unquote(link.split("#", 1)[0].split("?", 1)[0])
    if not path:
        return None
    if link.lower().startswith("file:"):
        return Path(path.removeprefix("file:").removeprefix("//"))
    return Path(path) if path.startswith("/") else document.parent / path


HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def anchors(text: str) -> set[str]:
    """The ids GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    return {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in HEADING.findall(FENCE.sub("", text))}


def _name(document: Path) -> str:
    return str(document.relative_to(ROOT))


@pytest.mark.parametrize("document", DOCUMENTS, ids=_name)
def test_it_links_nothing_outside_the_repository(document):
    # given a README or a page of docs/
    text = document.read_text(encoding="utf-8")

    # when every link is resolved from the document's own folder
    outside = []
    for link in links(text):
        target = _relative_target(document, link)
        if target is None:
            continue
        resolved = target.resolve()
        if link.startswith("/") or link.lower().startswith("file:") or not resolved.is_relative_to(ROOT):
            outside.append(link)

    # then none leaves the repository, and no absolute path of this machine is written anywhere
    assert outside == [], f"{_name(document)} links outside the repository: {outside}"
    assert "/work/" not in text, f"{_name(document)} names an absolute /work path"


@pytest.mark.parametrize("document", DOCUMENTS, ids=_name)
def test_it_links_only_to_files_that_exist(document):
    text = document.read_text(encoding="utf-8")

    missing = []
    for link in links(text):
        target = _relative_target(document, link)
        if link.startswith("#"):
            target = document
        if target is None:
            continue
        if not target.exists():
            missing.append(link)
        elif "#" in link and target.suffix == ".md":
            # A jump to a section that was renamed lands at the top of the page: as good as broken.
            if link.split("#", 1)[1] not in anchors(target.read_text(encoding="utf-8")):
                missing.append(link)

    assert missing == [], f"{_name(document)} links to missing files or sections: {missing}"


def test_it_finds_the_links_it_checks():
    # The checks above pass vacuously if the parser finds nothing: pin what it must find and skip.
    text = (
        'See [the design](docs/DESIGN.md), [`../x`](../shared/X.md), ![logo](img/a.png "t"),\n'
        '<https://example.com>, <a href="../up.md">up</a>, [site](https://example.com#a) and [top](#top).\n'
        "[ref]: ../ref.md\n"
        "`[not a link](../code.md)`\n"
        "```\n[fenced](../fenced.md)\n```\n"
    )

    found = links(text)

    assert found == [
        "docs/DESIGN.md",
        "../shared/X.md",
        "img/a.png",
        "https://example.com#a",
        "#top",
        "../ref.md",
        "https://example.com",
        "../up.md",
    ]
    readme = ROOT / "README.md"
    assert _relative_target(readme, "../shared/X.md").resolve().is_relative_to(ROOT) is False
    assert _relative_target(readme, "docs/DESIGN.md#money") == ROOT / "docs" / "DESIGN.md"
    assert _relative_target(readme, "https://example.com") is None
    assert anchors("# Not built yet\n## How the code is written\n```\n# not a heading\n```\n") == {
        "not-built-yet",
        "how-the-code-is-written",
    }


def test_it_has_a_design_note_of_its_own():
    assert (ROOT / "docs" / "DESIGN.md").is_file()
    assert "docs/DESIGN.md" in links((ROOT / "README.md").read_text(encoding="utf-8"))
