"""Check the industry-chain taxonomy files in this directory. Run by hand after every edit:

    .venv/bin/python parsers/data/taxonomies/check_taxonomies.py [DIR]

DIR defaults to the directory of this script. Exits 0 and prints a per-chain term count (and, for
information, the terms of one chain nested in a term of another) when everything holds; otherwise lists
every problem and exits 1. Needs Python >= 3.11 (tomllib), opencc and jieba.
"""

from __future__ import annotations

import logging
import re
import sys
import tomllib
import unicodedata
from collections import defaultdict
from pathlib import Path

import jieba
import opencc

# Terms that may appear under two chains of one scheme: (scheme code, term). Every entry needs a TOML
# comment at the term saying why. Empty on purpose: so far no term has needed it.
allow_shared: list[tuple[str, str]] = []

HERE = Path(__file__).resolve().parent
CURRENT = "qingdao-10plus1-2025"

SCHEME_KEYS = {"code", "name", "version", "announced", "in_use_from", "status", "complete", "note"}
CHAIN_KEYS = {"name", "group", "aliases", "sub_tracks", "keywords", "companies", "traditional"}
TERM_KEYS = ("aliases", "sub_tracks", "keywords", "companies")  # with `name`: the matchable terms
STATUSES = {"current", "previous", "archive"}
GROUPS = {"先导产业", "新兴产业", "优势产业", "未来产业", "现代服务业", "都市现代农业", "未知"}
DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
TERMS_PER_CHAIN = (20, 45)

# The 10+1 scheme as stated in the project reference (industry-chains.md): name -> group.
OFFICIAL_10PLUS1 = {
    "新一代信息技术": "先导产业",
    "人工智能": "先导产业",
    "生命健康": "新兴产业",
    "智能网联新能源汽车": "新兴产业",
    "低空经济": "新兴产业",
    "绿色能源": "新兴产业",
    "智能装备": "新兴产业",
    "智能家电": "优势产业",
    "高端化工与新材料": "优势产业",
    "现代轻工": "优势产业",
    "未来产业": "未来产业",
}
# The crosswalk of the reference: (from_scheme, from_chain) -> to_chain. crosswalk.toml must contain these.
REFERENCE_CROSSWALK = {
    ("qingdao-emerging10-2023", "集成电路"): "新一代信息技术",
    ("qingdao-emerging10-2023", "新型显示"): "新一代信息技术",
    ("qingdao-emerging10-2023", "虚拟现实"): "新一代信息技术",
    ("qingdao-emerging10-2023", "生物医药及医疗器械"): "生命健康",
    ("qingdao-emerging10-2023", "氢能与储能"): "绿色能源",
    ("qingdao-emerging10-2023", "智能制造装备"): "智能装备",
    ("qingdao-emerging10-2023", "通用航空"): "低空经济",
    ("qingdao-emerging10-2023", "先进高分子及金属材料"): "高端化工与新材料",
    ("qingdao-key24-2021", "新能源汽车"): "智能网联新能源汽车",
    ("qingdao-key24-2021", "高端化工"): "高端化工与新材料",
    ("qingdao-key24-2021", "食品饮料"): "现代轻工",
    ("qingdao-key24-2021", "纺织服装"): "现代轻工",
}
# Words found in any economic text: never a term (a scheme's official chain *name* is exempt).
_GENERIC_WORDS = """
产业 发展 创新 科技 海洋 制造 智能 数字 平台 企业 园区 经济 技术 工业 能源 材料 装备 项目 健康 信息 服务
数字经济 实体经济 高质量发展 新质生产力 招商引资 产业链 链主 集群 产业集群 龙头企业 专精特新 高新技术
数字化 智能化 绿色化 数字化转型 智能制造 新能源 食品 啤酒 啤酒节 机器人 双碳 碳达峰 碳中和
研发 生产 投资 合作 市场 消费 服务业 制造业 现代化 青岛
"""
GENERIC = frozenset(_GENERIC_WORDS.split())
# Where the reference (and the brief) put a term in the current scheme: term -> the only chain it may sit in.
PINNED = {
    "氢能": "绿色能源",
    "储能": "绿色能源",
    "人形机器人": "人工智能",
    "工业机器人": "智能装备",
    "数控机床": "智能装备",
    "京东方": "新一代信息技术",
    "歌尔": "新一代信息技术",
    "海尔": "智能家电",
    "海信": "智能家电",
    "赛轮": "高端化工与新材料",
    "一汽解放": "智能网联新能源汽车",
    "奇瑞": "智能网联新能源汽车",
    "上汽通用五菱": "智能网联新能源汽车",
    "中车四方": "智能装备",
}
# Sample sentences: a term must come out of jieba as one token in each, with and without HMM.
SENTENCES = (
    "青岛加快{}发展",
    "据悉，{}项目今日在西海岸新区签约。",
    "会议提出推动{}等领域实现突破",
    "市工业和信息化局介绍了全市{}的最新情况",
)
# Not tested on purpose: a term directly followed by 链. The default dictionary holds 产业链, so
# "未来产业链" comes out as 未来/产业链 whatever the term frequency; see README.md ("Matching").

problems: list[str] = []


def fail(msg: str) -> None:
    problems.append(msg)


def terms_of(chain: dict) -> list[tuple[str, str]]:
    """(key, term) for every matchable term of a chain: name, aliases, sub-tracks, keywords, companies."""
    out = [("name", chain.get("name", ""))]
    for key in TERM_KEYS:
        out += [(key, t) for t in chain.get(key, [])]
    return out


def load(directory: Path = HERE) -> tuple[dict[str, dict], dict | None]:
    schemes: dict[str, dict] = {}
    crosswalk = None
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                fail(f"{path.name}: not valid TOML: {exc}")
                continue
        if path.name == "crosswalk.toml":
            crosswalk = data
            continue
        code = data.get("scheme", {}).get("code")
        if code != path.stem:
            fail(f"{path.name}: [scheme].code {code!r} must equal the file name stem {path.stem!r}")
        schemes[path.stem] = data
    return schemes, crosswalk


def check_scheme(code: str, data: dict, t2s, s2t) -> None:
    scheme = data.get("scheme")
    if not isinstance(scheme, dict):
        fail(f"{code}: no [scheme] table")
        return
    if set(data) != {"scheme", "chains"}:
        fail(f"{code}: top-level tables must be exactly [scheme] and [[chains]], got {sorted(data)}")
    if set(scheme) - {"not_evidence"} != SCHEME_KEYS:
        fail(f"{code}: [scheme] keys {sorted(scheme)} != {sorted(SCHEME_KEYS)}")
    for key in ("code", "name", "version", "announced", "in_use_from", "status", "note"):
        if not isinstance(scheme.get(key), str) or not scheme.get(key, "").strip():
            fail(f"{code}: [scheme].{key} must be a non-empty string")
    for key in ("announced", "in_use_from"):
        if isinstance(scheme.get(key), str) and not DATE.match(scheme[key]):
            fail(f"{code}: [scheme].{key} {scheme[key]!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    if scheme.get("status") not in STATUSES:
        fail(f"{code}: [scheme].status {scheme.get('status')!r} not in {sorted(STATUSES)}")
    if not isinstance(scheme.get("complete"), bool):
        fail(f"{code}: [scheme].complete must be a boolean")

    chains = data.get("chains", [])
    if not chains:
        fail(f"{code}: no [[chains]]")
    names: set[str] = set()
    owner: dict[str, str] = {}  # term -> chain name
    for chain in chains:
        cname = chain.get("name", "?")
        where = f"{code} / {cname}"
        if set(chain) != CHAIN_KEYS:
            fail(f"{where}: keys {sorted(chain)} != {sorted(CHAIN_KEYS)}")
        if cname in names:
            fail(f"{code}: chain name {cname!r} appears twice")
        names.add(cname)
        if chain.get("group") not in GROUPS:
            fail(f"{where}: group {chain.get('group')!r} not in {sorted(GROUPS)}")
        for key in (*TERM_KEYS, "traditional"):
            value = chain.get(key)
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                fail(f"{where}: {key} must be a list of strings")

        terms = terms_of(chain)
        lo, hi = TERMS_PER_CHAIN
        if not lo <= len(terms) <= hi:
            fail(f"{where}: {len(terms)} terms (name + aliases ... + companies); want {lo}-{hi}")
        seen_here: set[str] = set()
        for key, term in terms:
            if not isinstance(term, str) or not term:
                fail(f"{where}: empty or non-string term under {key}")
                continue
            if term != term.strip() or re.search(r"\s", term):
                fail(f"{where}: term {term!r} contains whitespace (jieba splits on it)")
            if unicodedata.normalize("NFKC", term) != term:
                fail(f"{where}: term {term!r} changes under NFKC; write the normalised form")
            if t2s.convert(term) != term:
                fail(f"{where}: term {term!r} is not simplified (t2s: {t2s.convert(term)!r}); cannot match")
            if key != "name" and term in GENERIC:
                fail(f"{where}: {key} term {term!r} is too generic")
            if term in seen_here:
                fail(f"{where}: term {term!r} listed twice in the chain")
            seen_here.add(term)
            other = owner.get(term)
            if other and other != cname and (code, term) not in allow_shared:
                fail(f"{code}: term {term!r} under both {other!r} and {cname!r} (allow_shared lacks it)")
            owner.setdefault(term, cname)

        # Traditional forms: each must convert back to the name or an alias, and every name/alias
        # whose s2t form differs must have that form listed.
        plain = {cname, *chain.get("aliases", [])}
        trad = chain.get("traditional", [])
        for form in trad:
            if t2s.convert(form) not in plain:
                back = t2s.convert(form)
                fail(f"{where}: traditional {form!r} goes back to {back!r}: not the name or an alias")
            if form in plain:
                fail(f"{where}: traditional {form!r} is identical to its simplified form; leave it out")
        if len(set(trad)) != len(trad):
            fail(f"{where}: traditional has duplicates")
        for word in plain:
            converted = s2t.convert(word)
            if converted != word and converted not in trad:
                fail(f"{where}: traditional lacks {converted!r} (s2t of {word!r})")

    for scode, term in allow_shared:
        if scode == code and term not in owner:
            fail(f"allow_shared lists ({scode!r}, {term!r}) but the term is not in that scheme")


def check_current(schemes: dict[str, dict]) -> None:
    current = [c for c, d in schemes.items() if d.get("scheme", {}).get("status") == "current"]
    if current != [CURRENT]:
        fail(f"exactly one scheme must have status 'current' and it must be {CURRENT!r}; got {current}")
    data = schemes.get(CURRENT)
    if not data:
        fail(f"{CURRENT}.toml missing")
        return
    got = {c["name"]: c.get("group") for c in data.get("chains", [])}
    if got != OFFICIAL_10PLUS1:
        extra = sorted(set(got.items()) - set(OFFICIAL_10PLUS1.items()))
        missing = sorted(set(OFFICIAL_10PLUS1.items()) - set(got.items()))
        fail(f"{CURRENT}: (chain, group) pairs differ from the official list: +{extra} -{missing}")
    if data.get("scheme", {}).get("complete") is not True:
        fail(f"{CURRENT}: complete must be true")
    where: dict[str, list[str]] = defaultdict(list)
    for chain in data.get("chains", []):
        for _, term in terms_of(chain):
            where[term].append(chain["name"])
    for term, chain_name in PINNED.items():
        if where.get(term) != [chain_name]:
            fail(f"{CURRENT}: {term!r} must sit under {chain_name!r} only; found under {where.get(term, [])}")


def check_crosswalk(crosswalk: dict | None, schemes: dict[str, dict]) -> None:
    if crosswalk is None:
        fail("crosswalk.toml missing")
        return
    if set(crosswalk) != {"map"}:
        fail(f"crosswalk.toml: top level must be [[map]] only, got {sorted(crosswalk)}")
    chains = {code: {c["name"] for c in d.get("chains", [])} for code, d in schemes.items()}
    seen: set[tuple[str, str, str]] = set()
    pairs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for i, entry in enumerate(crosswalk.get("map", [])):
        where = f"crosswalk [[map]] #{i + 1}"
        if set(entry) != {"from_scheme", "from_chain", "to_chain", "note"}:
            fail(f"{where}: keys {sorted(entry)} != ['from_chain', 'from_scheme', 'note', 'to_chain']")
            continue
        fs, fc, tc = entry["from_scheme"], entry["from_chain"], entry["to_chain"]
        if fs == CURRENT:
            fail(f"{where}: from_scheme is the current scheme")
        elif fs not in chains:
            fail(f"{where}: from_scheme {fs!r} has no file")
        elif fc not in chains[fs]:
            fail(f"{where}: {fc!r} is not a chain of {fs}")
        if tc not in chains.get(CURRENT, set()):
            fail(f"{where}: to_chain {tc!r} is not a chain of {CURRENT}")
        if not str(entry["note"]).strip():
            fail(f"{where}: empty note")
        if (fs, fc, tc) in seen:
            fail(f"{where}: duplicate of an earlier entry")
        seen.add((fs, fc, tc))
        pairs[(fs, fc)].add(tc)
    for key, target in REFERENCE_CROSSWALK.items():
        if target not in pairs.get(key, set()):
            fail(f"crosswalk lacks the reference mapping {key[0]} / {key[1]} -> {target}")


def check_jieba(schemes: dict[str, dict]) -> None:
    jieba.setLogLevel(logging.WARNING)
    for code, data in schemes.items():
        tok = jieba.Tokenizer()  # fresh: only the default dictionary plus this scheme's terms
        terms = sorted({t for chain in data.get("chains", []) for _, t in terms_of(chain) if len(t) > 1})
        for term in terms:
            tok.add_word(term)
        for term in terms:
            for sentence in SENTENCES:
                text = sentence.format(term)
                for hmm in (True, False):
                    tokens = list(tok.cut(text, HMM=hmm))
                    if term not in tokens:
                        fail(f"{code}: jieba does not keep {term!r} whole (HMM={hmm}): {'/'.join(tokens)}")
                        break


def nested(data: dict) -> list[tuple[str, str, str, str]]:
    """(longer term, its chain, shorter term, its chain) where a term of one chain contains a term of another.

    Not an error: once both are in the jieba dictionary the longer one is the token. Listed so that
    whoever edits the files sees them (and a substring matcher knows it must prefer the longest match).
    """
    owner = {t: chain["name"] for chain in data.get("chains", []) for _, t in terms_of(chain)}
    return sorted(
        (long, owner[long], short, owner[short])
        for long in owner
        for short in owner
        if short != long and short in long and owner[short] != owner[long]
    )


def report(schemes: dict[str, dict]) -> None:
    order = sorted(schemes, key=lambda c: (c != CURRENT, c))
    for code in order:
        data = schemes[code]
        s = data["scheme"]
        print(f"{code}  [{s['status']}, complete={str(s['complete']).lower()}]  {s['name']}")
        print("  terms  chain (group)  per key; terms = name + aliases + sub_tracks + keywords + companies")
        for chain in data.get("chains", []):
            counts = " ".join(f"{k}={len(chain.get(k, []))}" for k in TERM_KEYS)
            print(f"  {len(terms_of(chain)):5d}  {chain['name']} ({chain['group']})  {counts}")
        pairs = nested(data)
        if pairs:
            shown = "; ".join(f"{a}({ca}) ⊃ {b}({cb})" for a, ca, b, cb in pairs)
            print(f"  nested (longest match wins): {shown}")


def main(argv: list[str]) -> int:
    directory = Path(argv[1]).resolve() if len(argv) > 1 else HERE
    t2s, s2t = opencc.OpenCC("t2s"), opencc.OpenCC("s2t")
    schemes, crosswalk = load(directory)
    for code, data in schemes.items():
        check_scheme(code, data, t2s, s2t)
    check_current(schemes)
    check_crosswalk(crosswalk, schemes)
    if not problems:  # jieba needs well-formed files
        check_jieba(schemes)
    if problems:
        print(f"{len(problems)} problem(s):")
        for p in problems:
            print(" -", p)
        return 1
    report(schemes)
    assert crosswalk is not None  # check_crosswalk counts a missing one as a problem
    print(f"OK: {len(schemes)} schemes, {len(crosswalk['map'])} crosswalk entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
