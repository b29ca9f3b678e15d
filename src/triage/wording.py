"""How counts read in messages for people: "1 file", "2 files", never "2 file(s)"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, the noun in the plural (`plural`, else noun + "s") unless count is 1."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
