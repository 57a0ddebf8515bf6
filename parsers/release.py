"""The whole pure path from page bytes to a release ready to store: decode, extract, fingerprint, tag."""

from __future__ import annotations

from dataclasses import dataclass

from parsers.extract import DEFAULT_OPTIONS, Extraction, ExtractOptions, extract_page
from parsers.fingerprint import Fingerprint, fingerprint_keys
from parsers.hints import PageHints
from parsers.normalize import normalize_simplified, normalize_text, paragraph_keys_simplified, simplify
from parsers.tag import Tag, Tagger


@dataclass(frozen=True)
class ParsedRelease:
    """A release as parsed from one page, before it meets the database."""

    extraction: Extraction
    fingerprint: Fingerprint
    # The title's and body's tokens, space-separated: one string, which travels from a parsing worker in a
    # fraction of the time a tuple of a thousand tokens takes.
    search_text: str
    tags: tuple[Tag, ...]


def parse_release(
    body: bytes,
    url: str | None,
    content_type: str | None,
    tagger: Tagger,
    options: ExtractOptions = DEFAULT_OPTIONS,
    hints: PageHints | None = None,
) -> ParsedRelease:
    """Parse page bytes into a release with fingerprints and tags.

    `hints` are the CSS selectors the page's source declares (see `parsers.extract.extract_page`).

    Raises:
        parsers.extract.ParseError: the page is not an article or cannot be read.
    """
    extraction = extract_page(body, url, content_type, options, hints)
    return analyse(extraction, tagger)


def analyse(extraction: Extraction, tagger: Tagger) -> ParsedRelease:
    """Fingerprint and tag an extracted release, normalising and segmenting each text once."""
    body = extraction.simplified_body if extraction.simplified_body is not None else simplify(extraction.body)
    body_tokens = tagger.normalised_tokens(normalize_simplified(body))
    title_tokens = tagger.normalised_tokens(normalize_text(extraction.title))
    return ParsedRelease(
        extraction=extraction,
        fingerprint=fingerprint_keys(extraction.title, paragraph_keys_simplified(body)),
        search_text=" ".join(title_tokens + body_tokens),
        tags=tuple(tagger.tag(extraction.title, extraction.body, body_tokens, title_tokens)),
    )
