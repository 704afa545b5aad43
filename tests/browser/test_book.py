"""The built book in Chromium: pages load cleanly, every chapter's trace players work, images
have alt text, internal links and anchors resolve, glossary and search work, and every
chapter renders to a non-blank screenshot."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from .conftest import chapters, click_a_message, pages

PLAYER = "[data-dscourse-player]"


@pytest.mark.parametrize("path", pages())
def test_page_loads_without_errors_from_our_assets(visit, path):
    v = visit(path)
    assert v.page.title(), f"{path} has no title"
    assert v.page.locator("main, article").count() >= 1
    if v.foreign:
        print(f"{path}: the theme reports {v.foreign}")
    assert v.errors == [], f"{path}: {v.errors}"


def _views(root):
    return root.evaluate("r => [r.querySelector('.dsp-views').innerHTML, r.querySelector('.dsp-state').innerText,"
                         " r.querySelector('.dsp-panels').innerText]")


@pytest.mark.parametrize("path", chapters())
def test_every_chapter_has_working_players(visit, path):
    v = visit(path)
    players = v.page.locator(PLAYER)
    count = players.count()
    assert count >= 1, f"{path} has no trace player"
    for k in range(count):
        root = players.nth(k)
        root.scroll_into_view_if_needed()
        slider = root.locator('input[type="range"]')
        assert slider.count() == 1
        top = int(slider.get_attribute("max"))
        assert top >= 2, f"player {k} of {path} holds {top} events"
        seen = []
        for position in (0, top // 2, top):
            slider.fill(str(position))
            assert root.get_attribute("data-cursor") == str(position)
            seen.append(_views(root))
        assert len({s[0] for s in seen}) == 3, f"player {k} of {path}: the diagram did not change on scrubbing"
        assert len({s[1] for s in seen}) >= 2, f"player {k} of {path}: the state panel did not change"
        # play from the start: the cursor moves on its own, then pause stops it
        slider.fill("0")
        play = root.locator('button[data-act="play"]')
        play.click()
        v.page.wait_for_function(f"() => +document.querySelectorAll('{PLAYER}')[{k}].getAttribute('data-cursor') > 0",
                                 timeout=5000)
        # check and pause in one page task: a short run can end (and a click restart it) between two calls
        still = root.evaluate("r => { if (r.hasAttribute('data-playing'))"
                              " r.querySelector('button[data-act=\"play\"]').click();"
                              " return r.getAttribute('data-playing'); }")
        assert still is None
        # step forward and back by one event
        slider.fill("1")
        root.locator('button[data-act="step"]').click()
        assert root.get_attribute("data-cursor") == "2"
        root.locator('button[data-act="back"]').click()
        assert root.get_attribute("data-cursor") == "1"
        # a click on a message shows its payload and the sender's annotated state
        slider.fill(str(top))
        detail = click_a_message(root)
        assert detail is not None, f"player {k} of {path} shows no clickable message"
        assert "payload:" in detail and " then: " in detail, detail
    assert v.errors == [], f"{path}: {v.errors}"


@pytest.mark.parametrize("path", pages())
def test_every_image_has_alt_text(visit, path):
    v = visit(path)
    missing = v.page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !(i.getAttribute('alt') || '').trim()).map(i => i.src)")
    assert missing == [], f"{path}: images without alt text: {missing}"
    unlabeled = v.page.eval_on_selector_all(
        f"{PLAYER} svg[role=img]", "svgs => svgs.filter(s => !s.getAttribute('aria-label')).length")
    assert unlabeled == 0


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])


def _parse(path: Path) -> _Anchors:
    p = _Anchors()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


def test_internal_links_and_anchors_resolve(html_root):
    parsed: dict[Path, _Anchors] = {}
    broken: list[str] = []
    checked = 0
    for page in pages():
        src = html_root / page
        parsed.setdefault(src, _parse(src))
        for href in parsed[src].links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            target = (src.parent / unquote(parts.path)).resolve() if parts.path else src
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file():
                broken.append(f"{page}: {href} (no file)")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = parsed.setdefault(target, _parse(target)).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page}: {href} (no anchor)")
    assert checked > 50, f"only {checked} internal links found: is this the built book?"
    assert broken == [], "\n".join(broken)


def test_glossary_lists_terms_with_working_anchors(visit):
    v = visit("book/glossary.html")
    terms = v.page.locator("dl.glossary dt")
    assert terms.count() >= 10
    ids = [terms.nth(k).get_attribute("id") for k in (0, terms.count() // 2, terms.count() - 1)]
    assert all(i and i.startswith("term-") for i in ids), ids
    for term_id in ids:    # a link to a term lands on it
        v.page.goto(f"{v.server}book/glossary.html#{term_id}")
        assert v.page.evaluate("() => document.querySelector(':target') && document.querySelector(':target').id") \
            == term_id
    assert v.errors == []


def test_search_finds_raft(visit):
    v = visit("search.html?q=Raft")
    v.page.wait_for_selector("#search-results ul.search li", timeout=15000)
    hits = v.page.locator("#search-results ul.search li a").all_inner_texts()
    assert any("Raft" in h for h in hits), hits
    assert v.errors == []


@pytest.mark.parametrize("path", chapters())
def test_chapter_screenshot_is_not_blank(visit, path, tmp_path_factory):
    from PIL import Image, ImageStat

    v = visit(path)
    v.page.wait_for_timeout(300)
    out = tmp_path_factory.mktemp("screenshots") / (Path(path).stem + ".png")
    v.page.screenshot(path=str(out), full_page=True)
    data = out.read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        width, height = img.size
        grey = img.convert("L")
        spread = ImageStat.Stat(grey).stddev[0]
        colours = len(img.convert("RGB").getcolors(maxcolors=1 << 20) or [])
    print(f"screenshot {out} {width}x{height} {len(data)} bytes")
    assert width >= 1000 and 900 <= height <= 60_000, (width, height)
    assert spread > 20 and colours > 64, f"{out} looks blank (stddev {spread:.1f}, {colours} colours)"
    assert len(data) > 30_000
