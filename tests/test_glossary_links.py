"""Every glossary term a chapter uses is linked with MyST's ``{term}`` role at its first use.

The rule, exactly:

* **Entries and their forms.** Each entry of the ``{glossary}`` block in ``book/glossary.md``
  is one term line (``Quorum / majority``). Its *forms* are the parts separated by `` / ``
  with any parenthesised qualifier removed (``Promise (Paxos)`` -> ``Promise``;
  ``Eventually perfect failure detector (◇P)`` -> ``Eventually perfect failure detector``),
  plus the aliases in :data:`ALIASES` (:data:`FORMS` replaces the forms where a part alone
  means something else: ``Machine / datacenter id``). A role targets the entry itself.
* **Case.** Forms written in capitals or CamelCase (``RPC``, ``FAIL``, ``ReadIndex``,
  ``UUIDv7``) match case-sensitively; other forms case-insensitively.
* **Used.** A form occurs where it matches case-insensitively as a whole word (letters,
  digits, ``_`` and ``-`` do not continue it on either side; a plural ``s``/``es`` may follow)
  in the *prose* of a markdown cell: headings, directive and admonition title lines, directive
  options, fenced code, inline code, math, HTML tags, link targets and link texts, quotations
  of the Chinese guide (a double-quoted span holding Chinese text is quoted, not ours), and the
  text of any role (``{cite}``, ``{term}``...) are blanked before matching. Code cells never
  count, nor does a chapter's closing list of sources (a cell headed Sources or References).
* **Linked at first use.** For each entry used in a chapter, the earliest occurrence in the
  chapter (cells in order), counting both bare forms and ``{term}`` roles that target the
  entry, must be such a role.
* A few entries are single everyday English words whose everyday sense is common in every
  chapter (:data:`EVERYDAY`): they are matched only where written with a capital inside a
  sentence (``Term``, ``Session``), not in their lowercase everyday sense, and not as the
  first word of a longer capitalised name (``Leader Append-Only``, ``Trace Context``).

Chapters are every ``book/ch*.ipynb``, so chapters written later are checked too.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "book" / "glossary.md"
CHAPTERS = sorted((ROOT / "book").glob("ch*.ipynb"))

#: extra forms of an entry (entry -> forms), where the book says the same thing in other words
ALIASES: dict[str, tuple[str, ...]] = {
    "Proposal number / ballot": ("proposal number", "ballot number"),
    "Quorum / majority": ("majority quorum",),
}

#: the forms of an entry, where splitting at `` / `` would give a part that means something else
FORMS: dict[str, tuple[str, ...]] = {
    "Machine / datacenter id": ("machine id", "datacenter id", "worker id"),
    "Undo / Redo log": ("undo log", "redo log"),
    "Clustered index / page split": ("clustered index", "page split"),
    "Redemption code / check code": ("redemption code", "check code"),
    "Persistent / Ephemeral / Sequential node": ("persistent node", "ephemeral node", "sequential node",
                                                 "persistent znode", "ephemeral znode", "sequential znode"),
    "Lock expiry / renewal": ("lock expiry", "lock renewal"),
    "MOVED / ASK redirection": ("MOVED redirection", "ASK redirection"),
    "ZXID / epoch": ("ZXID",),          # "epoch" alone is also Unix's and Snowflake's epoch
}

#: entries in everyday words: matched only when capitalised mid-sentence (see the docstring)
EVERYDAY = frozenset({
    "Term", "Route", "Predicate", "Filter / filter chain", "Session", "Observer", "Entropy",
    "Residue", "Proposal", "Committed", "Heartbeat", "Lease", "Stub", "Promise (Paxos)",
    "Consistency (CAP)", "Availability (CAP)", "Trace / Span", "Watcher", "Serialization",
    "Registry / Monitor", "Provider / Consumer", "Coordinator / Participant", "Sequence number",
    "Stat / version", "Leader / Follower / Candidate", "Quorum / majority", "Order number",
    "Snapshot / InstallSnapshot", "Watchdog", "Learner", "Push / Pull / Push-pull", "Failure report",
    "Write-off (redeem)", "Master election", "Active count", "Short URL",
})


def glossary_entries(text: str | None = None) -> list[str]:
    """The term lines of the ``{glossary}`` block, in file order."""
    text = GLOSSARY.read_text(encoding="utf-8") if text is None else text
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S)
    assert block, "book/glossary.md has no {glossary} block"
    return [line.strip() for line in block.group(1).splitlines()
            if line.strip() and not line.startswith((" ", "\t", ":"))]


def forms(entry: str) -> list[str]:
    if entry in FORMS:
        return [*FORMS[entry], *ALIASES.get(entry, ())]
    bare = re.sub(r"\s*\([^)]*\)", "", entry)
    parts = [p.strip() for p in bare.split(" / ") if p.strip()]
    return [*parts, *ALIASES.get(entry, ())]


ROLE = re.compile(r"\{(\w+)\}`([^`]*)`")
_BLANKS = [
    re.compile(r"^(```|~~~|:::)[^\n]*\n.*?^\1\s*$", re.S | re.M),       # fenced code (not directives)
    re.compile(r"^\s*(`{3,}|:{3,})\{.*$", re.M), re.compile(r"^\s*:[\w-]+:.*$", re.M),  # directive lines
    re.compile(r"\$\$.*?\$\$", re.S), re.compile(r"\$[^$\n]+\$"),       # math
    re.compile(r"`[^`\n]*`"),                                            # inline code
    re.compile(r"<[^>\n]+>"),                                            # HTML tags
    re.compile(r"!?\[[^\]\n]*\]\([^)\n]*\)"),                            # links and images
    re.compile(r"^\s{0,3}#.*$", re.M),                                   # headings
    re.compile(r'"[^"\n]*[\u4e00-\u9fff][^"\n]*"'),                      # quotations of the guide
]


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def prose(markdown: str) -> tuple[str, list[tuple[int, int, str]]]:
    """``markdown`` with everything but prose blanked (same length), and its ``{term}`` roles
    as (start, end, target)."""
    roles: list[tuple[int, int, str]] = []
    for m in ROLE.finditer(markdown):
        if m.group(1) == "term":
            inner = m.group(2)
            target = re.search(r"<([^>]*)>\s*$", inner)
            roles.append((m.start(), m.end(), (target.group(1) if target else inner).strip()))
    text = _blank(markdown, ROLE)
    # directive fences keep their body (admonitions hold prose): blank only the fence lines
    fenced = re.compile(r"^(```|~~~)(?!\{)[^\n]*\n.*?^\1\s*$", re.S | re.M)
    text = _blank(text, fenced)
    for pattern in _BLANKS[1:]:
        text = _blank(text, pattern)
    return text, roles


def _pattern(form: str, everyday: bool) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(w) for w in form.split())
    edge_l, edge_r = r"(?<![\w-])", r"(?:s|es)?(?![\w-])"
    if everyday:       # capitalised, and not the first word of a sentence or a line
        return re.compile(r"(?<![.!?:]\s)(?<!^)" + edge_l + body + edge_r + r"(?!\s+[A-Z])", re.M)
    exact = any(c.isupper() for w in form.split() for c in w[1:])
    return re.compile(edge_l + body + edge_r, 0 if exact else re.I)


def resolve(target: str, entries: list[str]) -> str | None:
    """The entry a ``{term}`` role points to (MyST matches glossary terms case-insensitively)."""
    for entry in entries:
        if target.lower() == entry.lower():
            return entry
    return None


def first_uses(cells: list[str], entries: list[str]) -> dict[str, tuple[int, int, bool, str]]:
    """For each entry used: (cell index, offset, linked?, excerpt) of its first use."""
    found: dict[str, tuple[int, int, bool, str]] = {}
    for index, source in enumerate(cells):
        if re.match(r"\s*#+\s*(Sources|References)\b", source):
            continue
        text, roles = prose(source)
        hits: list[tuple[int, str, bool, str]] = []
        for start, end, target in roles:
            entry = resolve(target, entries)
            if entry:
                hits.append((start, entry, True, source[start:end]))
        for entry in entries:
            if entry in found:
                continue
            everyday = entry in EVERYDAY
            for form in forms(entry):
                m = _pattern(form, everyday).search(text)
                if m and (not everyday or m.group(0)[0].isupper()):
                    hits.append((m.start(), entry, False, source[max(0, m.start() - 30):m.end() + 30]))
        for start, entry, linked, excerpt in sorted(hits, key=lambda h: (h[0], not h[2])):
            if entry not in found:
                found[entry] = (index, start, linked, excerpt.replace("\n", " "))
    return found


def markdown_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.source if c.cell_type == "markdown" else "" for c in nb.cells]


def unlinked(path: Path) -> list[str]:
    entries = glossary_entries()
    return [f"{entry!r}: first used in cell {cell} unlinked: ...{excerpt}..."
            for entry, (cell, _, linked, excerpt) in first_uses(markdown_cells(path), entries).items() if not linked]


def test_the_glossary_parses_into_many_distinct_entries():
    entries = glossary_entries()
    assert len(entries) > 100 and len(set(entries)) == len(entries)
    assert "Quorum / majority" in entries and all(forms(e) for e in entries)
    assert set(ALIASES) <= set(entries) and EVERYDAY <= set(entries)


def test_the_rule_catches_an_unlinked_first_use_and_accepts_a_linked_one():
    entries = ["Lamport clock", "Term", "Failure detector", "Eventually perfect failure detector (◇P)"]
    bare = ["# Lamport clocks\n", "A Lamport clock ticks. Later a {term}`Lamport clock` ticks again."]
    assert first_uses(bare, entries)["Lamport clock"][:3] == (1, 2, False)     # the heading does not count
    good = ["Each {term}`Lamport clocks <Lamport clock>` ticks; a Lamport clock again."]
    assert first_uses(good, entries)["Lamport clock"][2] is True
    assert "Term" not in first_uses(["in terms of the term"], entries)         # everyday sense
    assert first_uses(["Each server has a current Term number."], entries)["Term"][2] is False
    assert "Term" not in first_uses(["the Term Limit property"], entries)
    assert first_uses(['The guide says "用 Lamport clock 排序", wrongly.'], entries) == {}
    code = ["Use `Lamport clock` here, $Lamport clock$, and <b>x</b>."]
    assert first_uses(code, entries) == {}
    nested = ["An {term}`eventually perfect failure detector <Eventually perfect failure detector (◇P)>`,"
              " then a failure detector."]
    uses = first_uses(nested, entries)
    assert uses["Failure detector"][2] is False and uses["Eventually perfect failure detector (◇P)"][2] is True
    for fence in (":::", "```", "````"):
        admonition = [f"{fence}{{admonition}} Lamport clock\n:class: note\nBody without the term.\n{fence}"]
        assert first_uses(admonition, entries) == {}


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_glossary_term_is_linked_at_first_use(chapter):
    problems = unlinked(chapter)
    assert not problems, f"{chapter.name}: link these with {{term}}:\n" + "\n".join(problems)
