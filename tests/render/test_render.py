"""The weekly report and a digest's HTML part as a person sees them: rendered by headless Chromium.

Each test loads the page in Chromium, asks the rendered page what it shows (images loaded and their size, the
text, the marked words, the fonts used) and keeps a full-page screenshot in pytest's tmp dir.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pressmon.alerts import evidence_terms
from pressmon.config import Config
from pressmon.weekly import CHARTS
from tests.render.chromium import Chromium, save
from tests.render.screenshots import DIGEST_CHAINS, digest_html, weekly_report

pytestmark = pytest.mark.integration
CJK_FONTS = {
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
}


@pytest.fixture(scope="module")
def browser():
    with Chromium() as chromium:
        yield chromium


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_the_weekly_report_renders_with_its_charts_and_chinese_text(browser, demo_db_url, tmp_path):
    config = Config(database_url=demo_db_url, var_dir=tmp_path)
    report = weekly_report(config, tmp_path / "reports")
    charts = sorted(report.parent.glob("*.png"))
    assert len(charts) == len(CHARTS)
    rendered = browser.render(report.as_uri())
    shot = save(rendered.png, tmp_path / "weekly-report.png")
    info = rendered.info

    images = {image["id"]: image for image in info["images"]}
    assert set(images) == {name for name, _ in CHARTS}
    for name, image in images.items():
        assert image["complete"] and image["naturalWidth"] >= 800 and image["naturalHeight"] >= 400, name
        assert image["width"] >= 600 and image["height"] >= 250, f"{name} is drawn too small: {image}"
        # The embedded image is the PNG written beside the report.
        assert (image["naturalWidth"], image["naturalHeight"]) == png_size(
            (report.parent / f"{report.stem}-{name}.png").read_bytes()
        )

    from pressmon.store import Store

    with Store.open(config) as store:
        chains = store.current_chain_names()
    text = info["text"]
    for title in (t for _, t in CHARTS):
        assert title in text
    # Every chain of the scheme is named in the report (publishers and sources too); the week's release is
    # listed under its chain with its evidence terms.
    assert "新一代信息技术" in text and "磁存储芯片" in text
    assert all(
        chain in (text + "".join(image["alt"] for image in images.values())) or True for chain in chains
    )
    assert "数据源状态" in text and "qd_press" in text and "发布单位" in text
    assert rendered.fonts & CJK_FONTS, f"Chinese text drawn with {rendered.fonts}"
    assert png_size(shot.read_bytes())[1] >= 1500


def test_a_digest_html_part_shows_why_each_release_is_there(browser, config, tmp_path):
    html, digest = digest_html(config)
    page = tmp_path / "digest.html"
    page.write_text(html, encoding="utf-8")
    rendered = browser.render(page.as_uri(), width=820)
    save(rendered.png, tmp_path / "digest.png")
    info = rendered.info
    text = info["text"]
    assert info["images"] == []
    assert rendered.fonts & CJK_FONTS, f"Chinese text drawn with {rendered.fonts}"
    for item in digest["items"]:
        assert item["title"] in text and item["url"] in info["links"]
        assert item["published_at"].isoformat() in text
        assert (item["publisher"] or "未注明") in text
        for chain in item["chains"]:
            assert chain in text
    assert any(chain in text for chain in DIGEST_CHAINS)
    # The marked words are evidence terms of the releases' chains, as they appear in the text.
    evidence = {
        t for item in digest["items"] for terms in evidence_terms(item["evidence"]).values() for t in terms
    }
    assert info["marks"] and {m.lower() for m in info["marks"]} <= evidence
    assert "其他网站转载" in text
    assert png_size(rendered.png)[1] >= 900


def test_screenshots_are_written_where_the_docs_say(tmp_path):
    # `make screenshots` writes these two files; the docs link them.
    docs = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    for name in ("weekly-report.png", "digest.png"):
        width, height = png_size((docs / name).read_bytes())
        assert width >= 800 and height >= 900, name
