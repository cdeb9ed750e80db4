"""How a value a person typed is quoted back in a message."""

import unicodedata


def shown(value: str, limit: int = 120) -> str:
    """A value as an error message quotes it: control characters escaped, long values shortened."""
    out = []
    for ch in value:
        if ch in "\t\n\r" or unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"}:
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    text = "".join(out)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def accepted(values) -> str:
    """The accepted values of a choice, as a message lists them."""
    return ", ".join(values)


def one_of(values, got: str) -> str:
    """ "must be one of a, b; got 'x'": the message for a value outside an enumeration, on every channel."""
    suffix = f"; got '{shown(got)}'" if got else ""
    return f"must be one of {accepted(values)}{suffix}"


def confirmation_matches(typed: str, word: str) -> bool:
    """Typed confirmations compare trimmed and case-insensitively: "Disable " confirms ``disable``.

    The platform's CLI compares exactly; a web form (and this portal's CLI, which shares this
    rule) should not refuse the capital letter a phone's keyboard put there.
    """
    return typed.strip().casefold() == word.casefold()
