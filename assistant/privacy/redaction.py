"""Redaction of personal data in free text: secrets (cards, IBANs, passwords) and contact data (e-mails, phones).

Secrets are masked before a shopper's message is stored, logged, embedded, published or shown to anyone
(`redact_secrets`); nobody needs them and the shop must not hold them. Contact data stays in the
transcript for the agent handling the session, and is masked wherever people or models read text in
bulk: the dashboard's review list, training data, logs (`mask_contacts`, `mask_personal`).

Every detector is a regular expression for the shape plus a check that cuts false positives: the Luhn
digit for cards, ISO 7064 mod-97 for IBANs, a keyword and a word that is not a stop word (nor an e-mail
address) for passwords, a prefix or layout for phone numbers; order numbers and prices do not have those shapes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

CARD = "card"
IBAN = "iban"
PASSWORD = "password"
EMAIL = "email"
PHONE = "phone"
SECRET_KINDS = (IBAN, CARD, PASSWORD)  # IBANs first: their digits could otherwise read as a card number
CONTACT_KINDS = (EMAIL, PHONE)

MASKS = {
    CARD: "[card number removed]",
    IBAN: "[IBAN removed]",
    PASSWORD: "[password removed]",
    EMAIL: "[e-mail hidden]",
    PHONE: "[phone hidden]",
}
SECRET_NOTICE = ("For your safety I removed the {what} from your message. Please never share card "
                 "numbers, bank details or passwords in the chat: the shop will never ask for them here.")
_NOTICE_NAMES = {CARD: "card number", IBAN: "bank account number", PASSWORD: "password"}


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int

    def value(self, text: str) -> str:
        return text[self.start:self.end]


# ---------- payment cards ----------

# a run of digit groups joined by one or two spaces, dashes or dots, not glued to a word, amount or reference
_DIGIT_RUN_RE = re.compile(r"(?<![\w.,/+#-])\d+(?: {1,2}\d+|[.-]\d+)*(?![\w]|[.,-]\d)")
# separators a card may mix ("4539 1488 0343-6467") when its groups are laid out as on a card
_MIXABLE_SEPARATORS = frozenset({" ", "  ", "-"})
_CARD_LAYOUTS = frozenset({(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4)})


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _group_spans(run: re.Match) -> list[tuple[int, int, str]]:
    """(start, end, separator before) of each digit group of a run, as offsets in the text."""
    spans, previous_end = [], None
    for g in re.finditer(r"\d+", run.group(0)):
        sep = run.group(0)[previous_end:g.start()] if previous_end is not None else ""
        spans.append((run.start() + g.start(), run.start() + g.end(), sep))
        previous_end = g.end()
    return spans


def _cards(text: str) -> Iterator[Finding]:
    for run in _DIGIT_RUN_RE.finditer(text):
        groups = _group_spans(run)
        i = 0
        while i < len(groups):
            found = None
            # the longest stretch of groups from here that is a card: 13-19 digits, one kind of separator (or
            # spaces and dashes mixed in a card's layout), an issuer's first digit (2-6) and the Luhn check digit
            for j in range(len(groups), i, -1):
                stretch = groups[i:j]
                digits = "".join(text[a:b] for a, b, _ in stretch)
                separators = {sep for _, _, sep in stretch[1:]}
                laid_out = len(separators) <= 1 or (separators <= _MIXABLE_SEPARATORS and tuple(
                    b - a for a, b, _ in stretch) in _CARD_LAYOUTS)
                if 13 <= len(digits) <= 19 and laid_out and digits[0] in "23456" and luhn_valid(digits):
                    found = Finding(CARD, stretch[0][0], stretch[-1][1])
                    break
            if found:
                yield found
                i = j
            else:
                i += 1


# ---------- IBANs ----------

_IBAN_RE = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30}(?![\w])")
# lengths of the ISO 13616 registry (SEPA and common others); an unknown country is checked by mod-97 alone
_IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26, "VA": 22,
}


def iban_valid(iban: str) -> bool:
    iban = iban.upper()
    expected = _IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    if not 15 <= len(iban) <= 34 or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _ibans(text: str) -> Iterator[Finding]:
    for m in _IBAN_RE.finditer(text):
        raw = m.group(0)
        compact = re.sub(r"[ -]", "", raw)
        # a trailing word glued by a space ("DE89 3704 ... 3000 please") is not part of the IBAN: shorten
        while len(compact) >= 15 and not iban_valid(compact) and " " in raw.strip():
            raw = raw[:raw.rstrip().rfind(" ")].rstrip(" -")
            compact = re.sub(r"[ -]", "", raw)
        if iban_valid(compact):
            yield Finding(IBAN, m.start(), m.start() + len(raw))


# ---------- passwords ----------

_PASSWORD_WORDS = (
    r"passwords?|passwd|pwd|pw|pass ?code|pin(?: ?code)?|login|"  # English
    r"passwort|kennwort|"  # German
    r"mot de passe|mdp|code secret|"  # French
    r"contrase(?:ñ|n)a|clave|"  # Spanish
    r"senha|"  # Portuguese
    r"parola d'ordine|parola chiave|"  # Italian
    r"wachtwoord|"  # Dutch
    r"has(?:ł|l)o|"  # Polish
    r"l(?:ö|o)senord|passord|adgangskode|salasana|"  # Nordic
    r"(?:ş|s)ifre(?:m|niz)?|heslo|jelsz(?:ó|o)|парол[ья]"  # Turkish, Czech, Hungarian, Russian
)
_PASSWORD_LINKS = (  # "is" in several languages, or a symbol
    r"(?<!\w)(?:is|was|ist|war|lautet|est|était|c'est|es|era|é|è|zijn|jest|to|är|er|on|je|это)(?!\w)"
    r"|['’]s(?!\w)"  # "my password's …"
    r"|[=:>–—-]+"
)
_PASSWORD_RE = re.compile(
    rf"(?<!\w)(?:{_PASSWORD_WORDS})(?!\w)"  # the keyword
    r"(?:\s+(?:for|für|pour|para|per|voor|of|de|du|del|do|da|di)(?:\s+[\w-]+){1,3}?)?"  # "password for my account"
    r"(?:\s+(?:i|we)\s+(?:use|used|have|had|set|chose|picked|typed|entered|created))?"  # "password I use is"
    rf"\s*(?:{_PASSWORD_LINKS})(?:\s*[=:>–—-]+)?\s*"  # is / : / = / is:
    r"(?:(?:now|jetzt|maintenant|ahora|agora|adesso|nu|teraz)\s+)?"
    # quoted, spaces and all ("hunter 22"), or up to the next space
    r"(?:[\"“„«‘'](?P<quoted>[^\"“”„«»‘’'\n]{3,64}?)[\"”“»’']|[\"'“”„«‘]?(?P<secret>[^\s\"'“”„«»‘’]{3,}))",
    re.IGNORECASE,
)
# words after "my password is" that say something about it rather than being it
_NOT_A_PASSWORD = frozenset({
    "not", "wrong", "incorrect", "invalid", "correct", "right", "too", "expired", "blocked", "locked", "working",
    "accepted", "reset", "changed", "the", "a", "an", "my", "your", "our", "this", "that", "it", "same", "what",
    "which", "how", "missing", "lost", "forgotten", "required", "needed", "nicht", "falsch", "richtig",
    "abgelaufen", "gesperrt", "das", "die", "der", "mein", "kein", "pas", "faux", "expiré", "bloqué", "le", "la",
    "mon", "ma", "no", "incorrecta", "incorrecto", "caducada", "bloqueada", "el", "mi", "não", "errada", "errado",
    "o", "minha", "meu", "non", "sbagliata", "scaduta", "il", "mia", "niet", "fout", "verkeerd", "verlopen", "het",
    "mijn", "nie", "błędne", "złe", "moje", "inte", "fel", "ikke", "feil", "väärä", "yanlış", "špatné", "rossz",
    "неверный", "неправильный", "мой", "sent", "updated", "saved", "set", "stored", "case", "sensitive",
})


def _passwords(text: str) -> Iterator[Finding]:
    for m in _PASSWORD_RE.finditer(text):
        group = "quoted" if m.group("quoted") is not None else "secret"
        secret = m.group(group) if group == "quoted" else m.group(group).rstrip(".,;:)")
        if not secret.strip() or secret.split()[0].lower().strip(".,;!?") in _NOT_A_PASSWORD:
            continue
        if _EMAIL_RE.fullmatch(secret):  # "login: jane@example.com" names the account: the agent needs it
            continue
        yield Finding(PASSWORD, m.start(group), m.start(group) + len(secret))


# ---------- contact data ----------

_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
# digit groups (or a bracketed area code) joined by spaces, dots, dashes or slashes, maybe after + or 00
_PHONE_RE = re.compile(r"(?<![\w+.,/#-])(?:\+|00)?(?:\(\d{1,5}\)\s?)?\d+(?:(?:[ ./-]|\s?\(\d{1,5}\)\s?)\d+)*"
                       r"(?![\w]|[.,-]\d)")
_DATE_RE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}(?!\d)|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}(?!\d)")
_PHONE_CONTEXT_RE = re.compile(
    r"(?:phone|tel|telephone|mobile|cell|call|ring|whats ?app|sms|text me|fax|telefon|téléphone|teléfono|"
    r"telefone|telefono|handy|portable|móvil|celular|cellulare|"
    r"(?:my|mi|mon|meine?|mijn|il mio|o meu) (?:number|nummer|numéro|número|numero))\W{0,12}$",
    re.IGNORECASE)


def _phones(text: str) -> Iterator[Finding]:
    for m in _PHONE_RE.finditer(text):
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        if not 9 <= len(digits) <= 15:
            continue
        groups = re.findall(r"\d+", raw)
        international = re.match(r"\+|00[1-9]", raw) is not None
        trunk = re.match(r"0[1-9]|\(", raw) is not None  # a national number: 0 trunk prefix or (area code)
        # 3+ groups laid out like a phone number (555-123-4567, 06 12 34 56 78), not like a serial number,
        # a list of years (4 digits each) or a date (slashes)
        grouped = (len(groups) >= 3 and len(groups[0]) >= 2 and all(len(g) <= 4 for g in groups)
                   and any(len(g) != 4 for g in groups) and len(set(re.sub(r"\d", "", raw))) == 1
                   and "/" not in raw)
        if _DATE_RE.match(raw) and not international:  # 2026-12-01 22:50, 01.12.2026 14:30
            continue
        told = _PHONE_CONTEXT_RE.search(text[max(0, m.start() - 40):m.start()]) is not None
        if international or trunk or grouped or told:
            yield Finding(PHONE, m.start(), m.end())


def _emails(text: str) -> Iterator[Finding]:
    for m in _EMAIL_RE.finditer(text):
        yield Finding(EMAIL, m.start(), m.end())


DETECTORS: dict[str, Callable[[str], Iterator[Finding]]] = {
    IBAN: _ibans, CARD: _cards, PASSWORD: _passwords, EMAIL: _emails, PHONE: _phones,
}


# ---------- masking ----------


def _comparable(text: str) -> str:
    """The text with every space separator (no-break, narrow no-break, thin, ideographic) as a plain space and
    every decimal digit (full-width, Arabic-Indic, ...) as its ASCII digit, so the detectors see a number
    grouped or typed that way; the same length, so a finding's offsets hold in the original text."""
    if text.isascii():
        return text
    return "".join(" " if unicodedata.category(c) == "Zs" else str(unicodedata.decimal(c))
                   if c.isdecimal() and not c.isascii() else c for c in text)


def find(text: str, kinds: tuple[str, ...] = SECRET_KINDS + CONTACT_KINDS) -> list[Finding]:
    """Non-overlapping findings of `kinds` in text order (an earlier kind in `kinds` wins an overlap)."""
    taken: list[Finding] = []
    scanned = _comparable(text)
    for kind in kinds:
        for f in DETECTORS[kind](scanned):
            if not any(f.start < t.end and t.start < f.end for t in taken):
                taken.append(f)
    return sorted(taken, key=lambda f: f.start)


def _mask(text: str, kinds: tuple[str, ...]) -> tuple[str, list[str]]:
    if not text:
        return text, []
    findings = find(text, kinds)
    out, last = [], 0
    for f in findings:
        out += [text[last:f.start], MASKS[f.kind]]
        last = f.end
    out.append(text[last:])
    return "".join(out), [f.kind for f in findings]


@dataclass(frozen=True)
class Redacted:
    text: str
    kinds: tuple[str, ...]  # what was removed, in text order


def redact_secrets(text: str) -> Redacted:
    """Card numbers, IBANs and passwords masked (the text every part of the server then sees)."""
    masked, kinds = _mask(text, SECRET_KINDS)
    return Redacted(masked, tuple(kinds))


def mask_contacts(text: str) -> str:
    """E-mail addresses and phone numbers masked (for people and models that do not handle the session)."""
    return _mask(text, CONTACT_KINDS)[0]


def mask_personal(text: str) -> str:
    """Every kind masked: secrets and contact data (logs, exports for training)."""
    return _mask(text, SECRET_KINDS + CONTACT_KINDS)[0]


def removed_secrets(text: str) -> tuple[str, ...]:
    """The secret kinds whose mask a (redacted) text carries, e.g. to warn the shopper in the reply."""
    return tuple(kind for kind in (CARD, IBAN, PASSWORD) if MASKS[kind] in text)


def secret_notice(text: str) -> str | None:
    """The warning added to the reply when the shopper's message had a secret removed, else None."""
    kinds = removed_secrets(text)
    if not kinds:
        return None
    names = [_NOTICE_NAMES[k] for k in kinds]
    what = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return SECRET_NOTICE.format(what=what)
