"""PII redaction before any ticket text leaves the machine.

Emails, phone numbers, payment card numbers (Luhn-checked), IBANs (mod-97-checked) and IP addresses
are replaced by placeholders that are consistent within one ticket ("[EMAIL_1]" is the same address
every time it appears), so Claude can still follow who said what.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?![\w-])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6 = re.compile(r"(?<![\w:])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{3,39}(?![\w:])")
# International or national phone numbers: optional +country, groups separated by space/dot/dash,
# optional (area) part; 7-15 digits in total (checked after matching).
PHONE = re.compile(r"(?<![\w+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,5}(?:[ .-]?\d{2,5}){1,4}(?![\w])")


def luhn_ok(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    compact = text.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in moved)
    return int(digits) % 97 == 1


@dataclass
class Redactor:
    """Redacts one ticket; keeps the placeholder numbering for that ticket."""

    seen: dict[tuple[str, str], str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def _placeholder(self, kind: str, value: str) -> str:
        key = (kind, re.sub(r"[\s().-]", "", value).lower())
        if key not in self.seen:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.seen[key] = f"[{kind}_{self.counts[kind]}]"
        return self.seen[key]

    def redact(self, text: str) -> str:
        if not text:
            return text
        text = EMAIL.sub(lambda m: self._placeholder("EMAIL", m.group()), text)
        text = IBAN.sub(lambda m: self._placeholder("IBAN", m.group()) if iban_ok(m.group()) else m.group(), text)
        text = CARD.sub(self._card, text)
        text = IPV4.sub(self._ipv4, text)
        text = IPV6.sub(self._ipv6, text)
        text = PHONE.sub(self._phone, text)
        return text

    def _card(self, m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            return self._placeholder("CARD", digits)
        return m.group()

    def _ipv4(self, m: re.Match[str]) -> str:
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            return m.group()
        return self._placeholder("IP", m.group())

    def _ipv6(self, m: re.Match[str]) -> str:
        try:
            ipaddress.IPv6Address(m.group())
        except ValueError:
            return m.group()
        return self._placeholder("IP", m.group())

    def _phone(self, m: re.Match[str]) -> str:
        value = m.group()
        digits = re.sub(r"\D", "", value)
        # Dates (2026-11-28), times, versions and plain counts are not phone numbers.
        if not 7 <= len(digits) <= 15:
            return value
        if re.fullmatch(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}", value) or re.fullmatch(r"\d{1,2}[-./]\d{1,2}[-./]\d{2,4}", value):
            return value
        if not (value.startswith(("+", "(")) or re.search(r"[ .-]", value) or len(digits) >= 10):
            return value
        return self._placeholder("PHONE", value)


def redact(text: str) -> str:
    """Redact one standalone text (placeholders numbered within this text)."""
    return Redactor().redact(text)
