"""Layer 2. Raw text -> an article: a title and content paragraphs (line rules, title, language).

Owns: the ordered table of line rules, the title guess, the language check, `ingest`.
May import: layer 1 (records, errors, atomic, paths, locking, untrusted, wording) only.
"""
