"""Requests for a person, and the task a shopper asks a person to do ("ask an agent to send my invoice").

The rule (docs/protocol.md, "Asking for a person"): a message that asks for a person and names a task
gets the task answered and one button that offers a person; only a request for a person and nothing
else, or a second ask after the offer, hands the conversation over at once.
"""

from __future__ import annotations

import re

from assistant.privacy.redaction import EMAIL, MASKS, PHONE, mask_contacts

OFFER_PERSON = "offer_person"  # the pending action after the bot answered a task and offered a person
PERSON_OPTION = {"label": "Talk to a person", "value": "I'd like to talk to a person, please"}
MIN_TASK_WORDS = 3  # fewer words left after the request for a person are not a task ("an agent now please")

_PERSON = (r"(?:(?:a|an|the|some|your|one of your|someone from your|somebody from your)\s+)?"
           r"(?:(?:real|live|actual|human|customer\s+service|customer\s+support|support|service|sales)\s+)*"
           r"(?:agent|person|human|representative|rep|someone|somebody|operator|staff(?:\s+member)?|employee|"
           r"colleague|team|advisor|adviser|assistant)s?")
_ASK = (r"(?:ask|get|have|let|tell|need|want|connect\s+me\s+(?:to|with)|talk\s+(?:to|with)|speak\s+(?:to|with)|"
        r"put\s+me\s+(?:through\s+)?(?:to|in\s+touch\s+with)|transfer\s+me\s+to|forward\s+(?:this\s+)?to|"
        r"pass\s+(?:this|me)\s+(?:on\s+)?to|check\s+with|chat\s+(?:to|with))")
PERSON_REQUEST = re.compile(rf"\b{_ASK}\s+(?:me\s+)?{_PERSON}\b", re.IGNORECASE)
# "can an agent send me ..." : the person is the subject of the task
PERSON_SUBJECT = re.compile(rf"\b(?:can|could|would|will|may)\s+{_PERSON}\b", re.IGNORECASE)
_LEAD = re.compile(r"^\s*(?:to|for|about|if|whether|regarding|re|on|and|so\s+(?:that\s+)?(?:they|he|she)\s+can|"
                   r"(?:that|who|which)\s+can|please|pls|plz|[,.:;!-])+\s*", re.IGNORECASE)
_FILLER = re.compile(r"(?:\b(?:can|could|would|will)\s+(?:you|u)(?:\s+please)?|\b(?:let\s+me|(?:can|could|may)\s+i|"
                     r"(?:i|we)(?:\s+(?:would|'d)\s+like\s+to|\s+want\s+to|\s+wanna|\s+need\s+to)?)|\bplease)\s*$",
                     re.IGNORECASE)


# how to reach the shopper is not a task for the bot: "talk to an agent, mail me at x@y.org or ring 0123"
_CONTACT_WORDS = (r"(?:e-?mail|mail|write|ring|call|phone|text|reach|contact|message|whatsapp|my|number|address|"
                  r"mobile|cell|is|me|us|to|at|on|via|by|you|can|or|and)")
_CONTACT = re.compile(rf"(?:\b{_CONTACT_WORDS}\b[\s,:]*)*(?:{re.escape(MASKS[EMAIL])}|{re.escape(MASKS[PHONE])})",
                      re.IGNORECASE)


def asks_for_person(text: str) -> bool:
    return bool(PERSON_REQUEST.search(text) or PERSON_SUBJECT.search(text))


def task_in(text: str) -> str | None:
    """What the shopper wants done, with the request for a person taken out; None when nothing is left
    but the request ("can I talk to a human?", "get me an agent now")."""
    match = PERSON_REQUEST.search(text) or PERSON_SUBJECT.search(text)
    if match is None:
        return None
    before = _FILLER.sub("", text[: match.start()]).strip(" ,.;:!?-")
    after = _LEAD.sub("", _CONTACT.sub(" ", mask_contacts(text[match.end():]))).strip(" ,.;:!?-")
    before = _CONTACT.sub(" ", mask_contacts(before)).strip(" ,.;:!?-")
    task = " ".join(part for part in (before, after) if part)
    return task if len(re.findall(r"[a-zA-Z]{2,}", task)) >= MIN_TASK_WORDS else None
