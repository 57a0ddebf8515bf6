"""Build tests/data/dedup_pairs.json: labelled text pairs for calibrating the near-duplicate threshold.

Regenerate (deterministic: every random choice comes from `random.Random(f"{SEED}:{pair id}")`, so the
same sources give byte-identical output):

    cd /work/main && .venv/bin/python tests/data/make_dedup_pairs.py

and review the diff of `dedup_pairs.json` before keeping it. The JSON file is the fixed test data; this
script only documents how it was made. Sources:

- the offline releases, `qd_press.RELEASES_DIR/*.json` (title = `list_title`, body =
  the paragraphs joined by new lines);
- the real 1206 page text `../shared/corpus/qdfb-1206-seed.txt` (transcript shown twice);
- the real news pages in `../shared/corpus/html/`, turned into title/body by `parsers.extract.extract_page`.

Every pair is `{"id", "a": {"title", "body"}, "b": {"title", "body"}, "same_release", "kind", "note"}`.
`same_release` is the label a careful analyst would give: true when both texts carry one press release
(one conference, one announcement), whatever was added, dropped, re-encoded or re-ordered; false when they
are different releases, however alike their wording. Labels never look at what the fingerprint says.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import opencc

from parsers.extract import extract_page
from pressmon.offline import qd_press

SEED = 20240425
ROOT = Path(__file__).resolve().parents[2]
RELEASES = qd_press.RELEASES_DIR
CORPUS = ROOT.parent / "shared" / "corpus"
OUT = Path(__file__).resolve().parent / "dedup_pairs.json"

Text = dict[str, str]

# ---------------------------------------------------------------------------------------------- sources


def release(release_id: int) -> Text:
    data = _release_json(release_id)
    return {"title": data["list_title"], "body": "\n".join(data["paragraphs"])}


def _release_json(release_id: int) -> dict:
    return json.loads((RELEASES / f"{release_id}.json").read_text(encoding="utf-8"))


def published(release_id: int) -> str:
    return _release_json(release_id)["published"]


def corpus_page(name: str) -> Text:
    page = extract_page((CORPUS / "html" / name).read_bytes())
    return {"title": page.title, "body": page.body}


def seed_page_text() -> Text:
    """The real 1206 page text as captured: title, counter, the transcript twice (indented lines)."""
    lines = (CORPUS / "qdfb-1206-seed.txt").read_text(encoding="utf-8").splitlines()
    title = lines[0].strip()
    body = "\n".join(line for line in lines[1:] if line.strip())
    return {"title": title, "body": body}


def paragraphs(text: Text) -> list[str]:
    return [p for p in text["body"].split("\n") if p.strip()]


def with_body(text: Text, body: str, title: str | None = None) -> Text:
    return {"title": text["title"] if title is None else title, "body": body}


# ------------------------------------------------------------------------------------- transformations

_CONVERTERS: dict[str, opencc.OpenCC] = {}


def convert(text: Text, config: str) -> Text:
    """OpenCC conversion of title and body: 's2t', 's2tw' (Taiwan variants), 's2hk' (Hong Kong variants)."""
    cc = _CONVERTERS.setdefault(config, opencc.OpenCC(config))
    return {"title": cc.convert(text["title"]), "body": cc.convert(text["body"])}


def with_counter(text: Text, counter: str) -> Text:
    """The page text as a copier saw it: a view-counter line above the body."""
    return with_body(text, f"{counter}\n{text['body']}")


def full_width(text: str) -> str:
    """ASCII letters, digits and punctuation → full-width forms (what some CMSs store)."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


HALF_WIDTH = str.maketrans({"：": ":", "，": ",", "；": ";", "！": "!", "？": "?", "（": "(", "）": ")"})


def half_width(text: str) -> str:
    """Full-width punctuation → ASCII, as the real 1206 page stores it."""
    return text.translate(HALF_WIDTH)


# Tone-marked pinyin of frequent characters: "simplified[traditional]:pinyin".
_PINYIN_TABLE = """
产產:chǎn 业業:yè 发發:fā 展:zhǎn 市:shì 新:xīn 会會:huì 经經:jīng 济濟:jì 能:néng 智:zhì 人:rén 工:gōng
大:dà 国國:guó 中:zhōng 技:jì 术術:shù 创創:chuàng 企:qǐ 数數:shù 区區:qū 城:chéng 建:jiàn 设設:shè 服:fú
务務:wù 重:zhòng 点點:diǎn 项項:xiàng 年:nián 全:quán 高:gāo 质質:zhì 量:liàng 海:hǎi 洋:yáng 青:qīng
岛島:dǎo 电電:diàn 化:huà 链鏈:liàn 应應:yìng 用:yòng 动動:dòng 实實:shí 现現:xiàn 加:jiā 推:tuī 进進:jìn
平:píng 台臺:tái 合:hé 作:zuò 记記:jì 者:zhě 问問:wèn 谢謝:xiè 家:jiā 集:jí 群:qún 制:zhì 造:zào
装裝:zhuāng 备備:bèi 绿綠:lǜ 色:sè 源:yuán 科:kē 学學:xué 局:jú 长長:zhǎng 政:zhèng 府:fǔ 策:cè 目:mù
标標:biāo
"""
PINYIN = {ch: py for entry in _PINYIN_TABLE.split() for chars, py in [entry.split(":")] for ch in chars}


def pinyin_gloss(text: str, rng: random.Random, share: float, brackets: tuple[str, str]) -> str:
    """Insert lower-case pinyin in brackets after a share of the characters the table knows: 產(chǎn)業(yè)."""
    opening, closing = brackets
    out = []
    for ch in text:
        out.append(ch)
        if ch in PINYIN and rng.random() < share:
            out.append(f"{opening}{PINYIN[ch]}{closing}")
    return "".join(out)


SITES = {
    "guanhai": {
        "header": [
            "首页 > 青岛 > 政务",
            "{date} 08:15　来源：青岛日报　作者：记者 于晓彤",
            "【字号：大 中 小】　浏览次数：{views}",
        ],
        "footer": [
            "（来源：青岛日报）",
            "编辑：孙雨桐",
            "责任编辑：王立新",
            "相关阅读：",
            "· {related0}",
            "· {related1}",
            "· {related2}",
            "版权声明：凡注明“来源：观海新闻”的作品，版权均属观海新闻，未经授权不得转载、摘编或利用其它方式使用。",
        ],
    },
    "bandao": {
        "header": [
            "半岛网 > 青岛新闻 > 时政",
            "来源：半岛网　时间：{date} 10:42　阅读数：{views}",
            "分享到：",
        ],
        "footer": [
            "编辑：刘佳琪　责任编辑：赵海峰",
            "相关阅读",
            "{related0}",
            "{related1}",
            "{related2}",
            "【免责声明】本网转载此文出于传递更多信息之目的，并不意味着赞同其观点或证实其描述。",
            "扫一扫在手机打开当前页",
        ],
    },
    "dazhong": {
        "header": ["大众网·海报新闻记者 崔洁 青岛报道", "来源：大众网　{date}"],
        "footer": [
            "原标题：{title}",
            "来源：青岛市人民政府新闻办公室",
            "编辑：郭宁",
            "责任编辑：马晓燕",
            "相关阅读：{related0}；{related1}",
            "大众网版权所有，未经书面授权禁止使用。",
        ],
    },
}
RELATED_POOL = [
    "青岛出台若干措施支持制造业企业技术改造",
    "今年前三季度青岛市经济运行情况发布",
    "青岛地铁6号线一期工程开通初期运营",
    "胶东国际机场新开通多条国际航线",
    "青岛市优化营商环境条例明年起施行",
    "崂山风景区推出冬季惠民游活动",
    "全市中小学秋季学期开学工作平稳有序",
    "青岛港集装箱吞吐量再创新高",
]


def with_site(text: Text, site: str, rng: random.Random, date: str) -> Text:
    """The reprint as a news site's page text shows it: its header lines, the body, its footer lines."""
    template = SITES[site]
    related = rng.sample(RELATED_POOL, 3)
    values = {
        "date": date,
        "views": str(rng.randint(40, 9000)),
        "title": text["title"],
        **{f"related{i}": r for i, r in enumerate(related)},
    }
    header = [line.format(**values) for line in template["header"]]
    footer = [line.format(**values) for line in template["footer"]]
    return with_body(text, "\n".join([*header, text["body"], *footer]))


def shuffled(text: Text, rng: random.Random) -> Text:
    ps = paragraphs(text)
    rng.shuffle(ps)
    return with_body(text, "\n".join(ps))


def dropped(text: Text, rng: random.Random) -> tuple[Text, str]:
    ps = paragraphs(text)
    candidates = [i for i, p in enumerate(ps) if len(p) >= 80]
    i = rng.choice(candidates)
    removed = ps.pop(i)
    return with_body(text, "\n".join(ps)), removed


def edited(text: Text, edits: list[tuple[str, str]]) -> Text:
    body = text["body"]
    for old, new in edits:
        if body.count(old) != 1:
            raise ValueError(f"edit target not unique: {old!r}")
        body = body.replace(old, new)
    return with_body(text, body)


SENTENCE_END = re.compile(r"(?<=[。！？!?])")


def truncated(text: Text, share: float) -> Text:
    """Keep the first `share` of the body's characters, cut back to a sentence end if one is close."""
    body = text["body"]
    cut = int(len(body) * share)
    head = body[:cut]
    end = max(head.rfind(mark) for mark in "。！？!?\n")
    close = end >= cut - len(body) * 0.04
    return with_body(text, head[: end + 1].rstrip() if close else head)


def _is_question(paragraph: str) -> bool:
    label = re.split(r"[：:]", paragraph, maxsplit=1)[0]
    return "记者" in label and len(label) < 20


def qa_start(text: Text) -> int:
    """Index of the moderator's hand-over to questions (the paragraph before the first question)."""
    ps = paragraphs(text)
    first_question = next(i for i, p in enumerate(ps) if i > 5 and _is_question(p))
    return first_question - 1 if ps[first_question - 1].startswith("主持人") else first_question


def opening(text: Text) -> Text:
    """Moderator's opening and the first speaker's statement: everything before the questions."""
    return with_body(text, "\n".join(paragraphs(text)[: qa_start(text)]))


def statement(text: Text) -> Text:
    """Only the first speaker's opening statement, without the moderator and the name label."""
    ps = paragraphs(text)[: qa_start(text)]
    first_turn = next(
        i
        for i, p in enumerate(ps)
        if i > 2 and re.match(r"^[^：:]{2,4}[：:]", p) and not p.startswith("主持人")
    )
    kept = [re.sub(r"^[^：:]{2,4}[：:]", "", ps[first_turn]), *ps[first_turn + 1 :]]
    return with_body(text, "\n".join(p for p in kept if p.strip()))


def first_page(text: Text, chars: int = 600) -> Text:
    """Page 1 of a transcript paginated by a portal: whole paragraphs until about `chars` characters."""
    kept, total = [], 0
    for p in paragraphs(text):
        kept.append(p)
        total += len(p)
        if total >= chars:
            break
    return with_body(text, "\n".join(kept))


def twice(text: Text) -> Text:
    return with_body(text, text["body"] + "\n" + text["body"])


GREETING = re.compile(r"^[^。！？]*?(?:好|朋友们?)[！!。]")
BRIEF_CLOSING = "发布会上，相关负责同志还就记者关心的问题作了回答。"


def brief(release_id: int) -> Text:
    """A short news brief (200–400 characters) on a conference, in the template local portals use."""
    data = _release_json(release_id)
    text = release(release_id)
    topic = data["list_title"].replace("新闻发布会", "").strip("《》")
    _, month, day = (int(x) for x in data["published"].split("-"))
    opening_line = f"{month}月{day}日，青岛市政府新闻办召开新闻发布会，介绍{topic}有关情况。"
    statement_text = "".join(paragraphs(statement(text)))
    statement_text = GREETING.sub("", statement_text, count=1)
    sentences = [s for s in SENTENCE_END.split(statement_text) if s]
    body_sentences: list[str] = []
    length = len(opening_line) + len(BRIEF_CLOSING)
    for s in sentences:
        if length + len(s) > 390:
            break
        body_sentences.append(s)
        length += len(s)
    body = "\n".join([opening_line, "".join(body_sentences), BRIEF_CLOSING])
    if not 200 <= len(body) <= 400:
        raise ValueError(f"brief of {release_id} is {len(body)} characters")
    return {"title": f"青岛召开{topic}新闻发布会", "body": body}


# ------------------------------------------------------------------------------------------------ pairs

# Hand-written corrections of a re-post: two numbers changed, one sentence reworded.
CORRECTIONS = {
    2135: [
        ("装机容量达到780万千瓦", "装机容量达到790万千瓦"),
        ("全市已建成加氢站9座", "全市已建成加氢站10座"),
        (
            "产品除满足本地需求外，还供应江苏、福建、广东等地项目。",
            "产品不仅满足本地需要，还销往江苏、福建、广东等省份的项目。",
        ),
    ],
    1961: [
        ("已整改6.7万项，整改率98.5%", "已整改6.6万项，整改率97.1%"),
        (
            "改造过程中，我们对施工期间的临时供气作了统筹安排，尽量减少对居民生活的影响。",
            "施工期间，我们统筹做好临时供气安排，最大限度减少对居民正常生活的影响。",
        ),
    ],
    851: [
        ("已入驻企业200余家", "已入驻企业210余家"),
        ("新签约生物医药项目38个", "新签约生物医药项目36个"),
        (
            "推动驻青医疗机构与企业合作，拓展临床试验资源，缩短新药研发周期。",
            "同时鼓励驻青医疗机构同企业开展合作，扩充临床试验资源，帮助企业缩短新药研发周期。",
        ),
    ],
}


def pct(part: Text, whole: Text) -> str:
    return f"{round(100 * len(part['body']) / len(whole['body']))} %"


PairSpec = tuple[str, Callable[[random.Random], tuple[Text, Text, str]], bool, str]


def specs() -> list[PairSpec]:
    out: list[PairSpec] = []

    def add(pair_id: str, kind: str, same: bool, build: Callable[[random.Random], tuple[Text, Text, str]]):
        out.append((pair_id, build, same, kind))

    # ---- same release ------------------------------------------------------------------------------
    add(
        "counter-1702",
        "view_counter",
        True,
        lambda rng: (
            with_counter(release(1702), "浏览：958\n发布会日期：2024年04月25日"),
            with_counter(release(1702), "浏览：1027\n发布会日期：2024年04月25日"),
            "the same page fetched twice: only the view counter moved (958 → 1027)",
        ),
    )
    add(
        "counter-427",
        "view_counter",
        True,
        lambda rng: (
            with_counter(release(427), "【字号：大 中 小】 浏览次数：58次"),
            with_counter(release(427), "浏览次数：1203次"),
            "one release on two fetches; the counter line changed wording and value, the font-size bar vanished",
        ),
    )
    add(
        "counter-2160-thousands",
        "view_counter",
        True,
        lambda rng: (
            with_counter(release(2160), "阅读量：3,560"),
            with_counter(release(2160), "阅读量：3,612"),
            "a portal's counter with a thousands separator (3,560 → 3,612); same text otherwise",
        ),
    )
    add(
        "counter-xinhuanet",
        "view_counter",
        True,
        lambda rng: (
            with_counter(corpus_page("gne-xinhuanet-1.html"), "点击数：12"),
            with_counter(corpus_page("gne-xinhuanet-1.html"), "点击数：348"),
            "a real news page (gne-xinhuanet-1) with a click counter that changed between fetches",
        ),
    )

    add(
        "s2t-2023",
        "traditional_s2t",
        True,
        lambda rng: (
            release(2023),
            convert(release(2023), "s2t"),
            "traditional-character reprint (OpenCC s2t) of release 2023",
        ),
    )
    add(
        "s2t-1545",
        "traditional_s2t",
        True,
        lambda rng: (
            convert(release(1545), "s2t"),
            release(1545),
            "traditional-character reprint (OpenCC s2t) of release 1545, traditional copy first",
        ),
    )
    add(
        "s2t-cmse",
        "traditional_s2t",
        True,
        lambda rng: (
            corpus_page("gne-cmse-1.html"),
            convert(corpus_page("gne-cmse-1.html"), "s2t"),
            "traditional-character reprint of a real press-conference page (gne-cmse-1)",
        ),
    )
    add(
        "s2tw-1688",
        "traditional_s2tw",
        True,
        lambda rng: (
            release(1688),
            convert(release(1688), "s2tw"),
            "Taiwan-standard reprint (OpenCC s2tw) of 1688: also writes 着 as 著",
        ),
    )
    add(
        "s2tw-958",
        "traditional_s2tw",
        True,
        lambda rng: (
            release(958),
            convert(release(958), "s2tw"),
            "Taiwan-standard reprint (OpenCC s2tw) of 958",
        ),
    )
    add(
        "s2hk-1876",
        "traditional_s2hk",
        True,
        lambda rng: (
            release(1876),
            convert(release(1876), "s2hk"),
            "Hong Kong-standard reprint (OpenCC s2hk) of 1876: also writes 卫 as 衞 (卫生健康)",
        ),
    )
    add(
        "s2hk-people",
        "traditional_s2hk",
        True,
        lambda rng: (
            corpus_page("gne-people-1.html"),
            convert(corpus_page("gne-people-1.html"), "s2hk"),
            "Hong Kong-standard reprint of a real news page (gne-people-1)",
        ),
    )

    add(
        "pinyin-2182-trad",
        "pinyin_gloss",
        True,
        lambda rng: (
            release(2182),
            with_body(
                convert(release(2182), "s2t"),
                pinyin_gloss(convert(release(2182), "s2t")["body"], rng, 0.35, ("(", ")")),
            ),
            "mirror in traditional characters with pinyin glosses in ASCII brackets, 產(chǎn)業(yè) style",
        ),
    )
    add(
        "pinyin-1347-fullwidth",
        "pinyin_gloss",
        True,
        lambda rng: (
            with_body(release(1347), pinyin_gloss(release(1347)["body"], rng, 0.25, ("（", "）"))),
            release(1347),
            "mirror with pinyin glosses in full-width brackets, 产（chǎn）业（yè） style, glossed copy first",
        ),
    )
    add(
        "pinyin-shanxi",
        "pinyin_gloss",
        True,
        lambda rng: (
            corpus_page("gne-shanxi-1.html"),
            with_body(
                corpus_page("gne-shanxi-1.html"),
                pinyin_gloss(corpus_page("gne-shanxi-1.html")["body"], rng, 0.3, ("(", ")")),
            ),
            "pinyin-glossed mirror of a real government page (gne-shanxi-1)",
        ),
    )

    add(
        "fullwidth-1003",
        "full_width",
        True,
        lambda rng: (
            release(1003),
            with_body(release(1003), full_width(release(1003)["body"])),
            "digits, % and Latin letters of 1003 in full-width forms (８英寸, １２英寸)",
        ),
    )
    add(
        "fullwidth-1206",
        "full_width",
        True,
        lambda rng: (
            release(1206),
            with_body(release(1206), full_width(release(1206)["body"])),
            "the real 1206 transcript (half-width punctuation as captured) re-typed with full-width "
            "punctuation and digits",
        ),
    )
    add(
        "fullwidth-stcn",
        "full_width",
        True,
        lambda rng: (
            corpus_page("gne-stcn-1.html"),
            with_body(corpus_page("gne-stcn-1.html"), full_width(corpus_page("gne-stcn-1.html")["body"])),
            "a real stock-notice page (gne-stcn-1, many amounts) with full-width digits and punctuation",
        ),
    )
    add(
        "halfwidth-2251",
        "half_width",
        True,
        lambda rng: (
            release(2251),
            with_body(release(2251), half_width(release(2251)["body"])),
            "2251 with ASCII colons, commas, semicolons and brackets instead of full-width ones",
        ),
    )
    add(
        "halfwidth-1650",
        "half_width",
        True,
        lambda rng: (
            with_body(release(1650), half_width(release(1650)["body"])),
            release(1650),
            "1650 with half-width punctuation, half-width copy first",
        ),
    )

    add(
        "site-1102",
        "site_boilerplate",
        True,
        lambda rng: (
            release(1102),
            with_site(release(1102), "guanhai", rng, "2022-11-11"),
            "reprint on a news site with its header (来源, 作者, 字号, counter) and footer (编辑, 责任编辑, "
            "相关阅读 with three other headlines, copyright)",
        ),
    )
    add(
        "site-1790",
        "site_boilerplate",
        True,
        lambda rng: (
            with_site(release(1790), "bandao", rng, "2024-06-28"),
            release(1790),
            "reprint on a portal with its header and footer (来源, 阅读数, 编辑/责任编辑, 相关阅读, disclaimer)",
        ),
    )
    add(
        "site-1961",
        "site_boilerplate",
        True,
        lambda rng: (
            release(1961),
            with_site(release(1961), "dazhong", rng, "2024-11-22"),
            "reprint with a byline, 原标题, 来源, 编辑, 责任编辑 and 相关阅读 lines",
        ),
    )
    add(
        "site-zsnews",
        "site_boilerplate",
        True,
        lambda rng: (
            corpus_page("gne-zsnews-1.html"),
            with_site(corpus_page("gne-zsnews-1.html"), "bandao", rng, "2019-02-28"),
            "a real 405-character local news item reprinted with a portal's header and footer; the "
            "boilerplate is a large share of the copy",
        ),
    )
    add(
        "site-brief-2023",
        "site_boilerplate",
        True,
        lambda rng: (
            brief(2023),
            with_site(brief(2023), "guanhai", rng, "2025-01-16"),
            "a short brief (~300 characters) on conference 2023 and the same brief reprinted with a site's "
            "header and footer: one release, but the boilerplate is almost as long as the text",
        ),
    )

    add(
        "shuffle-512",
        "paragraphs_shuffled",
        True,
        lambda rng: (
            release(512),
            shuffled(release(512), rng),
            "all paragraphs of 512 in a random order (a mirror that re-orders the Q&A blocks)",
        ),
    )
    add(
        "shuffle-1231",
        "paragraphs_shuffled",
        True,
        lambda rng: (
            shuffled(release(1231), rng),
            release(1231),
            "all paragraphs of 1231 in a random order",
        ),
    )
    add(
        "shuffle-2098",
        "paragraphs_shuffled",
        True,
        lambda rng: (
            release(2098),
            shuffled(release(2098), rng),
            "all paragraphs of 2098 in a random order",
        ),
    )

    def drop(release_id: int):
        def build(rng: random.Random):
            copy, removed = dropped(release(release_id), rng)
            return (
                release(release_id),
                copy,
                f"{release_id} without one paragraph ({len(removed)} characters): {removed[:20]}…",
            )

        return build

    add("drop-745", "paragraph_dropped", True, drop(745))
    add("drop-1302", "paragraph_dropped", True, drop(1302))
    add("drop-1919", "paragraph_dropped", True, drop(1919))

    for release_id, edits in CORRECTIONS.items():
        add(
            f"correction-{release_id}",
            "small_correction",
            True,
            lambda rng, r=release_id, e=edits: (
                release(r),
                edited(release(r), e),
                f"re-post of {r} with a correction: "
                + "; ".join(f"{old[:14]}… → {new[:14]}…" for old, new in e),
            ),
        )

    def trunc(source: Callable[[], Text], share: float, label: str):
        def build(rng: random.Random):
            whole = source()
            part = truncated(whole, share)
            return (
                whole,
                part,
                f"{label} truncated to {round(share * 100)} % at the nearest sentence end ({pct(part, whole)} kept)",
            )

        return build

    add("trunc85-902", "truncated_85", True, trunc(lambda: release(902), 0.85, "902"))
    add("trunc85-1489", "truncated_85", True, trunc(lambda: release(1489), 0.85, "1489"))
    add(
        "trunc85-ifeng",
        "truncated_85",
        True,
        trunc(lambda: corpus_page("gne-ifeng-3.html"), 0.85, "real page gne-ifeng-3"),
    )
    add("trunc70-1150", "truncated_70", True, trunc(lambda: release(1150), 0.70, "1150"))
    add("trunc70-2061", "truncated_70", True, trunc(lambda: release(2061), 0.70, "2061"))
    add(
        "trunc70-thepaper",
        "truncated_70",
        True,
        trunc(lambda: corpus_page("gne-thepaper-2.html"), 0.70, "real page gne-thepaper-2"),
    )

    opening_note = (
        "; labelled same release: the copy is nothing but this conference's own text (moderator "
        "opening and first statement), it reports no other event, and an analyst wants it in the "
        "conference's cluster. Jaccard similarity of a prefix is about its share of the whole, so this "
        "pair sits near the threshold by construction: containment, not resemblance, is what it has."
    )
    for release_id in (1745, 2199):
        add(
            f"opening-{release_id}",
            "opening_only",
            True,
            lambda rng, r=release_id: (
                release(r),
                opening(release(r)),
                f"summary-style reprint of {r} that keeps the opening part only "
                f"({pct(opening(release(r)), release(r))} of the text)" + opening_note,
            ),
        )
    for release_id in (1268, 1436):
        add(
            f"statement-{release_id}",
            "opening_only",
            True,
            lambda rng, r=release_id: (
                statement(release(r)),
                release(r),
                f"summary-style reprint of {r} that keeps only the first speaker's opening statement, "
                f"without the moderator ({pct(statement(release(r)), release(r))} of the text)"
                + opening_note,
            ),
        )

    add(
        "repost-1703",
        "repost",
        True,
        lambda rng: (
            release(1702),
            release(1703),
            "the analyst-labelled re-post (same_release_as 1702): 5.2→5.6万路, one sentence reworded, one added",
        ),
    )
    add(
        "repost-1703-site",
        "repost",
        True,
        lambda rng: (
            release(1702),
            with_site(release(1703), "dazhong", rng, "2024-04-26"),
            "the re-post 1703 as a portal reprinted it (header and footer lines) against the original 1702",
        ),
    )
    add(
        "repost-1703-trad",
        "repost",
        True,
        lambda rng: (
            convert(release(1703), "s2t"),
            release(1702),
            "the re-post 1703 in traditional characters against the original 1702",
        ),
    )

    add(
        "twice-1206-seed",
        "body_twice",
        True,
        lambda rng: (
            seed_page_text(),
            release(1206),
            "the real 1206 page text as captured (counter line, indented lines, transcript twice) against "
            "the transcript once",
        ),
    )
    add(
        "twice-2245",
        "body_twice",
        True,
        lambda rng: (
            release(2245),
            twice(release(2245)),
            "2245 with the whole transcript shown twice, as the real site does on some pages",
        ),
    )
    add(
        "twice-163",
        "body_twice",
        True,
        lambda rng: (
            twice(corpus_page("gne-163-8.html")),
            corpus_page("gne-163-8.html"),
            "a real news page (gne-163-8) whose body a naive extractor returned twice",
        ),
    )

    add(
        "short-s2t-1833",
        "traditional_s2t",
        True,
        lambda rng: (
            brief(1833),
            convert(brief(1833), "s2t"),
            "a short brief (~350 characters) on 1833 and its traditional-character reprint",
        ),
    )
    add(
        "short-fullwidth-1102",
        "full_width",
        True,
        lambda rng: (
            with_body(brief(1102), full_width(brief(1102)["body"])),
            brief(1102),
            "a short brief on 1102 with full-width digits and Latin letters",
        ),
    )

    # ---- different releases -------------------------------------------------------------------------
    series = "“人工智能+” series conferences: same moderator formula and series wording, different speakers and content"
    for a, b in ((1688, 1702), (1688, 2199), (1702, 2199), (1703, 1688), (1703, 2199)):
        add(
            f"series-{a}-{b}",
            "same_series",
            False,
            lambda rng, a=a, b=b: (
                release(a),
                release(b),
                f"{a} vs {b}: {series}",
            ),
        )

    chains = {
        (
            2023,
            2236,
        ): "低空经济: the action plan (2023) and its follow-up on drones and flight services (2236)",
        (
            1436,
            2135,
        ): "绿色能源: new-type energy storage (1436) and the whole green-energy chain (2135, mentions 储能)",
        (
            803,
            2182,
        ): "智能家电: 2021 chain conference and 2025 cluster conference, both with 海尔/海信/澳柯玛",
        (1044, 2224): "现代轻工: two 食品饮料 conferences three years apart, both with 青岛啤酒",
        (1003, 2258): "新一代信息技术: 集成电路 (2022) and 磁存储芯片/先进封装 (2025), both with 芯恩",
        (851, 1268): "生命健康: 生物医药 and 医疗器械 conferences",
        (1388, 2023): "低空经济: 通用航空 (2023-08) and the low-altitude action plan (2025-01)",
        (427, 1650): "新一代信息技术: 5G and 新型显示 conferences of 市工业和信息化局",
    }
    for (a, b), why in chains.items():
        add(
            f"chain-{a}-{b}",
            "same_chain",
            False,
            lambda rng, a=a, b=b, why=why: (
                release(a),
                release(b),
                f"two conferences on one chain, different releases — {why}",
            ),
        )

    departments = {
        (1150, 1961): "市城市管理局: heating season (1150) and gas safety campaign (1961)",
        (
            688,
            1612,
        ): "市文化和旅游局: the 14th five-year culture/tourism plan and the 2024 Spring Festival programme",
        (
            1231,
            1745,
        ): "市工业和信息化局原材料工业处: advanced polymer/metal materials and high-end chemicals, both with 赛轮",
        (
            1688,
            1919,
        ): "市工业和信息化局软件和信息服务业处: AI in manufacturing and industrial internet/software",
        (745, 1436): "市发展和改革委员会能源发展处: hydrogen plan and new-type energy storage",
    }
    for (a, b), why in departments.items():
        add(
            f"dept-{a}-{b}",
            "same_department",
            False,
            lambda rng, a=a, b=b, why=why: (
                release(a),
                release(b),
                f"two conferences of one department — {why}",
            ),
        )

    add(
        "moderator-firstpage-1688-1702",
        "shared_moderator_boilerplate",
        False,
        lambda rng: (
            first_page(release(1688)),
            first_page(release(1702)),
            "page 1 of two paginated series transcripts: the moderator's welcome, the series formula, "
            "'今天，我们邀请到了：', the speaker list formula — and then different conferences",
        ),
    )
    add(
        "moderator-firstpage-2023-2236",
        "shared_moderator_boilerplate",
        False,
        lambda rng: (
            first_page(release(2023)),
            first_page(release(2236)),
            "page 1 of two 低空经济 transcripts: moderator formula plus one topic, different conferences",
        ),
    )
    add(
        "moderator-firstpage-803-2182",
        "shared_moderator_boilerplate",
        False,
        lambda rng: (
            first_page(release(803)),
            first_page(release(2182)),
            "page 1 of two 智能家电 transcripts (moderator formula, similar speaker lists of 海尔/海信/澳柯玛)",
        ),
    )
    add(
        "moderator-opening-688-1612",
        "shared_moderator_boilerplate",
        False,
        lambda rng: (
            opening(release(688)),
            opening(release(1612)),
            "the opening parts (moderator + first statement) of two culture/tourism conferences",
        ),
    )

    for (a, b), site in (((1688, 1702), "guanhai"), ((1436, 2135), "bandao")):
        add(
            f"site-{site}-{a}-{b}",
            "same_site_boilerplate",
            False,
            lambda rng, a=a, b=b, site=site: (
                with_site(release(a), site, rng, published(a)),
                with_site(release(b), site, rng, published(b)),
                f"{a} and {b} reprinted by one site: the same header/footer template (来源, 编辑, 责任编辑, "
                "copyright lines; other 相关阅读 headlines) around different releases",
            ),
        )
    add(
        "site-guanhai-brief-1044-2224",
        "same_site_boilerplate",
        False,
        lambda rng: (
            with_site(brief(1044), "guanhai", rng, published(1044)),
            with_site(brief(2224), "guanhai", rng, published(2224)),
            "short briefs on two 食品饮料 conferences, both reprinted by one site: brief template plus the "
            "site's header/footer template, about as long as each brief, around different conferences",
        ),
    )

    for a, b in ((2023, 2236), (1436, 2135), (803, 2182), (1044, 2224), (1003, 2258), (1688, 1702)):
        add(
            f"short-{a}-{b}",
            "short_template",
            False,
            lambda rng, a=a, b=b: (
                brief(a),
                brief(b),
                f"short briefs ({len(brief(a)['body'])} and {len(brief(b)['body'])} characters) on {a} and {b}: "
                "same template opening '…青岛市政府新闻办召开新闻发布会，介绍…有关情况。' and the same closing "
                f"sentence '{BRIEF_CLOSING}', different conferences",
            ),
        )

    corpus_pairs = {
        ("gne-cmse-1.html", "gne-hexun-1.html"): "two press-conference reports (载人航天 and 交通运输部)",
        ("gne-163-8.html", "gne-163-9.html"): "two articles of one portal (163.com)",
        ("gne-zsnews-1.html", "gne-cjddsb-1.html"): "two local government/finance work reports",
        ("gne-shanxi-1.html", "gne-ifeng-3.html"): "two regional economy articles",
        ("gne-xinhuanet-1.html", "gne-163-8.html"): "two 新华社 dispatches",
        ("gne-people-1.html", "gne-thepaper-2.html"): "two feature articles",
        ("gne-other-1.html", "gne-stcn-1.html"): "a short NPC resolution and a short stock-notice roundup",
    }
    for (a, b), why in corpus_pairs.items():
        add(
            f"corpus-{a[4:-5]}-{b[4:-5]}",
            "corpus_pages",
            False,
            lambda rng, a=a, b=b, why=why: (
                corpus_page(a),
                corpus_page(b),
                f"real news pages {a} and {b}: {why}",
            ),
        )

    add(
        "other-1302-1612",
        "different_topic",
        False,
        lambda rng: (
            release(1302),
            release(1612),
            "beer festival preparations and Spring Festival culture/tourism programme",
        ),
    )
    add(
        "other-1044-1302",
        "different_topic",
        False,
        lambda rng: (
            release(1044),
            release(1302),
            "食品饮料 industry (青岛啤酒 as a company) and the beer festival (啤酒节 as an event)",
        ),
    )
    add(
        "other-2251-1580",
        "different_topic",
        False,
        lambda rng: (
            release(2251),
            release(1580),
            "livelihood projects list and school admission policy (both education words)",
        ),
    )
    add(
        "other-2000-1206",
        "different_topic",
        False,
        lambda rng: (
            release(2000),
            release(1206),
            "the 10+1 scheme announcement and the 2023 S&T/advanced-manufacturing release",
        ),
    )
    add(
        "cross-s2t-2023-2236",
        "same_chain",
        False,
        lambda rng: (
            convert(release(2023), "s2t"),
            release(2236),
            "the 2023 低空经济 plan in traditional characters vs the 2236 follow-up: normalisation must not pull "
            "two conferences of one chain together",
        ),
    )
    add(
        "cross-trunc70-1688-1702",
        "same_series",
        False,
        lambda rng: (
            truncated(release(1688), 0.7),
            truncated(release(1702), 0.7),
            "70 % reprints of two conferences of one series",
        ),
    )
    return out


def build() -> list[dict]:
    pairs = []
    for pair_id, make, same, kind in specs():
        a, b, note = make(random.Random(f"{SEED}:{pair_id}"))
        pairs.append({"id": pair_id, "a": a, "b": b, "same_release": same, "kind": kind, "note": note})
    ids = [p["id"] for p in pairs]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate pair ids")
    return pairs


def main() -> None:
    pairs = build()
    OUT.write_text(json.dumps(pairs, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    true = sum(p["same_release"] for p in pairs)
    print(f"wrote {len(pairs)} pairs ({true} same release, {len(pairs) - true} different) to {OUT}")


if __name__ == "__main__":
    main()
