"""Pure parsing: bytes of a page in, a release and its fingerprints and tags out. No I/O, no network."""
