"""The source registry: every declaration loads, and a bad one fails with one line naming its file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pressmon import sources
from pressmon.sources import REGISTRY_DIR, SourceError, load_file, registry
from pressmon.sources.families import family_of

DECLARATIONS = sorted(REGISTRY_DIR.glob("*.toml"))
GOOD = """\
code = "{code}"
agency = "某某市人民政府办公厅"
authority = 70
family = "links"
base_url = "https://www.example.gov.cn"
lists = ["/xwfb/"]
pagination = "next_link"
detail_url = '/xwfb/\\d{{6}}/t\\d+\\.html$'
structure_from = "a test"
"""


def declaration(tmp_path: Path, text: str, code: str = "sample") -> Path:
    path = tmp_path / f"{code}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", DECLARATIONS, ids=[p.stem for p in DECLARATIONS])
def test_every_declaration_loads_with_its_family_and_says_where_its_structure_comes_from(path):
    source = load_file(path)
    assert source.code == path.stem
    assert source.structure_from.strip()
    assert family_of(source).name == source.family
    assert all(url.startswith(source.base_url + "/") for url in source.list_urls())


def test_the_registry_holds_every_file_once_by_code():
    declared = registry()
    assert list(declared) == sorted(p.stem for p in DECLARATIONS)
    assert sources.get("qd_press").agency == "青岛市人民政府新闻办公室"


def test_an_unknown_code_names_the_declared_ones():
    with pytest.raises(SourceError, match=r"unknown source 'nowhere' .*qd_press"):
        sources.get("nowhere")


def test_a_good_declaration_in_another_folder_loads(tmp_path):
    declaration(tmp_path, GOOD.format(code="sample"))
    assert list(registry(tmp_path)) == ["sample"]


BAD = [
    ("missing structure_from", lambda t: t.replace('structure_from = "a test"\n', ""), "structure_from"),
    ("missing agency", lambda t: t.replace('agency = "某某市人民政府办公厅"\n', ""), "agency"),
    ("empty agency", lambda t: t.replace('"某某市人民政府办公厅"', '""'), "agency"),
    ("unknown field", lambda t: t + 'colour = "red"\n', "colour"),
    ("bad code", lambda t: t.replace('code = "sample"', 'code = "Sample-1"'), "code"),
    ("code differs from file", lambda t: t.replace('code = "sample"', 'code = "other"'), "code"),
    ("ftp base_url", lambda t: t.replace("https://www.example.gov.cn", "ftp://example.gov.cn"), "base_url"),
    ("empty lists", lambda t: t.replace('lists = ["/xwfb/"]', "lists = []"), "lists"),
    ("bad regex", lambda t: t.replace("'/xwfb/\\d{6}/t\\d+\\.html$'", "'(unclosed'"), "detail_url"),
    ("authority too high", lambda t: t.replace("authority = 70", "authority = 101"), "authority"),
    ("unknown family", lambda t: t.replace('family = "links"', 'family = "nosuchcms"'), "nosuchcms"),
    ("unknown pagination", lambda t: t.replace('"next_link"', '"trs_index"'), "pagination"),
    ("bad fixtures kind", lambda t: t + 'fixtures = "scraped"\n', "fixtures"),
    ("verified as text", lambda t: t + 'verified = "yes"\n', "verified"),
    ("bad detail hint", lambda t: t + "[detail]\nfooter = '.x'\n", "detail"),
    ("not TOML", lambda t: t + "this is = = not toml\n", "cannot read"),
]


@pytest.mark.parametrize("edit, field", [(e, f) for _, e, f in BAD], ids=[name for name, _, _ in BAD])
def test_a_bad_declaration_is_one_clear_error_naming_its_file_and_field(tmp_path, edit, field):
    path = declaration(tmp_path, edit(GOOD.format(code="sample")))
    with pytest.raises(SourceError) as raised:
        registry(tmp_path)
    message = str(raised.value)
    assert len(message.splitlines()) == 1, message
    assert field in message
    assert message.startswith("sample.toml: "), message
    assert path.exists()


def test_the_readme_names_as_many_sources_as_are_declared() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"{len(registry())} declared sources" in readme
