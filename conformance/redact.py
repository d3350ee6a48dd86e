"""Secrets never reach an output: one redaction for every channel.

Two layers. :func:`redact_url` masks the password of a URL or DSN in each of its forms: libpq
keywords (``password=x``, ``password = 'x y'``, quoted with escapes), URI userinfo
(``scheme://user:pw@host``) and query strings (``?password=x``, ``&token=x``). And every secret
the suite is given (the passwords of ``--db-dsn``, ``--redis-url``, ``--docker-host``, the values
of secret-named environment variables) is :func:`register`-ed in every form it may be shown in —
as written, decoded, percent-encoded, escaped — so that :func:`scrub` removes it from any text,
a message a client library composed from the DSN or a traceback included, before that text
reaches the terminal, JUnit, evidence.json or a report.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, unquote_plus, urlsplit

MASK = "***"
# Shorter "secrets" are not registered: they would mask ordinary words (``pw``, ``db``).
MIN_SECRET_LENGTH = 3
# Environment values are often placeholders (``test`` for LocalStack); only real-looking ones.
MIN_ENVIRONMENT_SECRET_LENGTH = 8

# A name whose value is a secret: password, sslpassword, DB_PASSWORD, splunk-token, api_key …
_SECRET_WORDS = r"passw(?:or)?d|secret|token|api[_-]?key|requirepass|masterauth"
_SECRET_NAME = re.compile(_SECRET_WORDS, re.IGNORECASE)
_KEY = rf"(?:[\w-]*(?:{_SECRET_WORDS})[\w-]*|pwd)"
# libpq quotes with '…' and backslash escapes; an unquoted value ends at whitespace, or at & or
# # in a query string; punctuation that ends it (``password=x: refused``) is left to show.
_VALUE = (
    r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
    r"|(?:\\.|[^\s&#'\"\\])+?(?=[:,;.)]*(?:[\s&#'\"]|$))"
)
_KEYWORD = re.compile(
    rf"(?<![\w-])(?P<key>{_KEY}|'{_KEY}'|\"{_KEY}\")"
    rf"(?P<eq>(?<=['\"])\s*:\s*|\s*=\s*)(?P<value>{_VALUE})",
    re.IGNORECASE,
)
# userinfo ends at the last @ of the authority (a password may hold an unencoded @).
_USERINFO = re.compile(
    r"(?P<scheme>\b[a-z][a-z0-9+.\-]*://)(?P<user>[^\s:/?#@]*):(?P<pw>[^\s/?#]*)@", re.IGNORECASE
)
# A URL whose password holds an unencoded / or ?: registered up to its last @ (a guess too wide
# to mask by, as ``https://h:443/a?u=a@b`` shows, but harmless to register).
_LOOSE_USERINFO = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<user>[^\s:/?#@]*):(?P<pw>\S*)@", re.IGNORECASE
)
# A Compose reference as written (``${REDIS_PASSWORD}``) names a secret without holding it.
_REFERENCE = re.compile(r"\$\{[A-Za-z_]\w*\}|\$[A-Za-z_]\w*")
_ESCAPE = re.compile(r"\\(.)")
_QUOTED = re.compile(r"(['\"])((?:(?!\1).)*)\1")

_known: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def is_secret_name(name: str) -> bool:
    """Whether a parameter, variable or key named ``name`` holds a secret."""
    return _SECRET_NAME.search(name) is not None


def register(secret: str | None, min_length: int = MIN_SECRET_LENGTH) -> None:
    """Remember a secret in every form it may be shown in, so :func:`scrub` removes it."""
    global _pattern
    if not secret:
        return
    decoded = {secret, unquote(secret), unquote_plus(secret)}
    forms = set(decoded)
    for value in decoded:
        forms |= {
            quote(value),
            quote(value, safe=""),
            quote_plus(value, safe=""),
            repr(value)[1:-1],
            json.dumps(value)[1:-1],
        }
    with _lock:
        before = len(_known)
        _known.update(f for f in forms if len(f) >= min_length and f != MASK)
        if len(_known) != before:
            _pattern = None


def register_url(url: str | None) -> None:
    """Register the secrets of a URL or DSN: userinfo password, ``?password=``/``&token=`` and
    libpq ``password=`` keywords (quoted or not)."""
    if not url:
        return
    try:
        parts = urlsplit(url)
        register(parts.password)
        for key, value in parse_qsl(parts.query):
            if is_secret_name(key):
                register(value)
    except ValueError:  # an invalid port or bracket: the patterns below still find the password
        pass
    for match in _USERINFO.finditer(url):
        register(match["pw"])
    loose = _LOOSE_USERINFO.match(url)
    if loose is not None:
        register(loose["pw"])
    for match in _KEYWORD.finditer(url):
        value = match["value"]
        register(value)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
            register(value)
        register(_ESCAPE.sub(r"\1", value))


def register_environment(environ: Mapping[str, str]) -> None:
    """Register the values of secret-named variables (AWS_SECRET_ACCESS_KEY, DB_PASSWORD …)."""
    for name, value in environ.items():
        if is_secret_name(name):
            register(value, MIN_ENVIRONMENT_SECRET_LENGTH)


def redact_url(text: str) -> str:
    """A URL or DSN (or a text holding some) with every password masked, fit to show."""
    text = _USERINFO.sub(_mask_userinfo, text)
    return _KEYWORD.sub(_mask_keyword, text)


def scrub(text: str) -> str:
    """``text`` with every registered secret and every URL/keyword password masked."""
    if not text:
        return text
    pattern = _known_pattern()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return redact_url(text)


def scrub_value(value: Any) -> Any:
    """:func:`scrub` through a JSON-like value; the value of a secret-named key is masked."""
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {scrub(k) if isinstance(k, str) else k: _scrub_entry(k, v) for k, v in value.items()}
    if type(value) in (list, tuple, set, frozenset):
        return type(value)(scrub_value(v) for v in value)
    shown = str(value)  # another object is shown (and written to evidence) as its str()
    cleaned = scrub(shown)
    return value if cleaned == shown else cleaned


def hide_quoted(reason: str) -> str:
    """A client library's parse error with the fragments it quotes masked: libpq's ``missing "="
    after "b"`` may quote a piece of a password that no pattern recognises."""
    return _QUOTED.sub(lambda m: m[0] if m[2] == "=" else f"{m[1]}{MASK}{m[1]}", scrub(reason))


def _scrub_entry(key: object, value: Any) -> Any:
    if (
        isinstance(key, str)
        and is_secret_name(key)
        and isinstance(value, str)
        and value
        and not _REFERENCE.fullmatch(value)
    ):
        return MASK
    return scrub_value(value)


def _known_pattern() -> re.Pattern[str] | None:
    """One pattern for every registered form, longest first; a form that begins or ends with a
    letter or digit matches only as a whole word, so a short secret does not mask inside words."""
    global _pattern
    with _lock:
        if _pattern is None and _known:
            alternatives = []
            for form in sorted(_known, key=len, reverse=True):
                before = r"(?<![A-Za-z0-9])" if form[0].isascii() and form[0].isalnum() else ""
                after = r"(?![A-Za-z0-9])" if form[-1].isascii() and form[-1].isalnum() else ""
                alternatives.append(before + re.escape(form) + after)
            _pattern = re.compile("|".join(alternatives))
        return _pattern


def _mask_userinfo(match: re.Match[str]) -> str:
    return f"{match['scheme']}{match['user']}:{MASK}@"


def _mask_keyword(match: re.Match[str]) -> str:
    value = match["value"]
    if value == MASK or _REFERENCE.fullmatch(value):
        return match[0]
    return f"{match['key']}{match['eq']}{MASK}"
