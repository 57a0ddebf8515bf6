"""Industry-chain schemes as versioned data files: load, validate, generate the jieba user dictionary."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from parsers.normalize import normalize_text

TAXONOMY_DIR = Path(__file__).resolve().parent / "data" / "taxonomies"
CURRENT_SCHEME = "qingdao-10plus1-2025"
CHAIN_KEYS = ("name", "group", "aliases", "sub_tracks", "keywords", "companies")
# How strongly each kind of term says "this text is about the chain".
TERM_WEIGHTS = {"name": 3.0, "alias": 3.0, "company": 2.5, "sub_track": 2.0, "keyword": 1.0}


class TaxonomyError(ValueError):
    """A scheme file is missing, malformed or contradicts itself."""


@dataclass(frozen=True)
class Chain:
    name: str
    group: str
    aliases: tuple[str, ...]
    sub_tracks: tuple[str, ...]
    keywords: tuple[str, ...]
    companies: tuple[str, ...]
    traditional: tuple[str, ...] = ()

    def terms(self) -> list[tuple[str, str]]:
        """Return (term, kind) pairs, the strongest kind first when a term is listed twice."""
        listed = [
            (self.name, "name"),
            *((a, "alias") for a in self.aliases),
            *((c, "company") for c in self.companies),
            *((s, "sub_track") for s in self.sub_tracks),
            *((k, "keyword") for k in self.keywords),
        ]
        seen: dict[str, str] = {}
        for term, kind in listed:
            key = term_key(term)
            if key and key not in seen:
                seen[key] = kind
        return list(seen.items())


@dataclass(frozen=True)
class Scheme:
    code: str
    name: str
    version: str
    status: str
    complete: bool
    chains: tuple[Chain, ...]
    sha256: str
    note: str = ""
    not_evidence: tuple[str, ...] = ()

    def chain(self, name: str) -> Chain:
        for chain in self.chains:
            if chain.name == name:
                return chain
        raise KeyError(name)

    @property
    def chain_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.chains)


def term_key(term: str) -> str:
    """Return the form a term is matched in: normalised, simplified, lower case, no spaces."""
    return normalize_text(term).replace(" ", "").lower()


def scheme_codes(directory: Path = TAXONOMY_DIR) -> list[str]:
    """Return the codes of all scheme files."""
    return sorted(p.stem for p in directory.glob("*.toml") if p.stem != "crosswalk")


@cache
def load_scheme(code: str = CURRENT_SCHEME, directory: Path = TAXONOMY_DIR) -> Scheme:
    """Load and validate one scheme file."""
    path = directory / f"{code}.toml"
    if not path.exists():
        raise TaxonomyError(f"no scheme {code!r}; known: {', '.join(scheme_codes(directory))}")
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TaxonomyError(f"{path.name}: {exc}") from None
    head = data.get("scheme", {})
    chains = []
    for entry in data.get("chains", []):
        missing = [k for k in CHAIN_KEYS if k not in entry]
        if missing:
            raise TaxonomyError(f"{path.name}: chain {entry.get('name')!r} lacks {', '.join(missing)}")
        chains.append(
            Chain(
                name=entry["name"],
                group=entry["group"],
                aliases=tuple(entry["aliases"]),
                sub_tracks=tuple(entry["sub_tracks"]),
                keywords=tuple(entry["keywords"]),
                companies=tuple(entry["companies"]),
                traditional=tuple(entry.get("traditional", ())),
            )
        )
    names = [c.name for c in chains]
    if not chains or len(set(names)) != len(names):
        raise TaxonomyError(f"{path.name}: chains missing or named twice")
    return Scheme(
        code=head.get("code", code),
        name=head.get("name", code),
        version=str(head.get("version", "")),
        status=head.get("status", "unknown"),
        complete=bool(head.get("complete", False)),
        chains=tuple(chains),
        sha256=hashlib.sha256(raw).hexdigest(),
        note=head.get("note", ""),
        not_evidence=tuple(head.get("not_evidence", ())),
    )


@dataclass(frozen=True)
class CrosswalkEntry:
    from_scheme: str
    from_chain: str
    to_chain: str
    note: str


@cache
def load_crosswalk(directory: Path = TAXONOMY_DIR) -> tuple[CrosswalkEntry, ...]:
    """Return how chains of earlier schemes map to chains of the current scheme."""
    path = directory / "crosswalk.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return tuple(
        CrosswalkEntry(m["from_scheme"], m["from_chain"], m["to_chain"], m.get("note", ""))
        for m in data.get("map", [])
    )


def user_dictionary(scheme: Scheme) -> str:
    """Return a jieba user dictionary (one `word freq` per line) for one scheme.

    It holds the scheme's multi-character terms and the words that contain a term without being evidence
    for it. Only one scheme's words: a longer term of another scheme (集成电路产业) would hide 集成电路.
    """
    words = {term for chain in scheme.chains for term, _ in chain.terms() if len(term) > 1}
    words.update(term_key(word) for word in scheme.not_evidence)
    return "".join(f"{word} 2000\n" for word in sorted(words) if " " not in word)
