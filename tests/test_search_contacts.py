"""Contact search and lookup (issue 14 item 18): email, name or company contains the text ignoring case *and*
accents, the same on the memory and SQL back ends over SQLite and PostgreSQL; one contact by email or id."""
from __future__ import annotations

import pytest

import segmenter
from segmenter import ContactError, PermissionDenied
from segmenter.search import fold

PEOPLE = [
    {"email": "jose@x.com", "name": "José Álvarez", "company": "Café Olé"},
    {"email": "m@x.com", "name": "Jürgen Müller", "company": "Straße GmbH"},
    {"email": "zoe@x.com", "name": "Zoë Ng", "company": "ACME Inc"},
    {"email": "plain@x.com", "name": "Joseph Plain", "company": None},
    {"email": "nfd@x.com", "name": "Jose\u0301 Decomposed", "company": ""},  # é as e + combining acute
    {"email": "cafe@x.com", "name": None, "company": "cafe"},
]


@pytest.fixture(params=["memory", "sql"])
def people(any_url, request):
    with segmenter.connect(any_url, backend=request.param) as s:
        s.add_contacts(PEOPLE)
        yield s


def _emails(seg, text, **page) -> list[str]:
    return [c["email"] for c in seg.search_contacts(text, **page)["contacts"]]


@pytest.mark.parametrize("text, expected", [
    ("jose", ["jose@x.com", "plain@x.com", "nfd@x.com"]),        # José, Joseph, and José spelled with a mark
    ("JOSÉ", ["jose@x.com", "plain@x.com", "nfd@x.com"]),        # accents in the text are folded too
    ("MULLER", ["m@x.com"]),
    ("müller", ["m@x.com"]),
    ("strasse", ["m@x.com"]),                                   # ß case-folds to ss
    ("cafe", ["jose@x.com", "cafe@x.com"]),
    ("zoe", ["zoe@x.com"]),
    ("  acme inc ", ["zoe@x.com"]),                              # the search box's text is trimmed
    ("@X.COM", [p["email"] for p in PEOPLE]),
    ("nobody", []),
])
def test_search_ignores_case_and_accents_on_every_back_end(people, text, expected):
    found = people.search_contacts(text)
    assert [c["email"] for c in found["contacts"]] == expected  # id order
    assert found["count"] == len(expected)


def test_the_rule_contains_still_ignores_case_only(people):
    # SPEC §2 is unchanged: accent-insensitivity is the search's, not the operator's
    rules = [{"field": "name", "operator": "contains", "value": "jose"}]
    assert [c["email"] for c in people.contacts(rules)] == ["plain@x.com", "nfd@x.com"]  # "Jose" + a mark: literal


def test_search_pages_and_empty_text_is_everyone(people):
    assert people.search_contacts("")["count"] == len(PEOPLE)
    assert _emails(people, "x.com", limit=2, offset=2) == ["zoe@x.com", "plain@x.com"]
    assert people.search_contacts("x.com", limit=2, offset=2)["count"] == len(PEOPLE)


def test_search_sees_erasure_at_once(people):
    people.delete_contacts(["jose@x.com"])
    assert _emails(people, "jose") == ["plain@x.com", "nfd@x.com"]


@pytest.mark.parametrize("bad", [{"text": 5}, {"text": "a", "limit": 0}, {"text": "a", "limit": 101},
                                 {"text": "a", "offset": -1}, {"text": "x" * 1001}])
def test_bad_search_arguments_are_contact_errors(seg, bad):
    text = bad.pop("text")
    with pytest.raises(ContactError):
        seg.search_contacts(text, **bad)


def test_get_contact_by_email_or_id_with_every_field(people):
    people.add_contacts([{"email": "jose@x.com", "plan": "gold", "seats": 3}])
    by_email = people.get_contact("  JOSE@x.com ")
    assert by_email == people.get_contact(by_email["id"]) == people.get_contact(str(by_email["id"]))
    assert list(by_email)[:6] == ["id", "email", "name", "company", "status", "created_at"]
    assert (by_email["plan"], by_email["seats"], by_email["name"]) == ("gold", 3, "José Álvarez")
    assert by_email["created_at"].endswith("Z")
    with pytest.raises(ContactError, match="no contact has the email 'nobody@x.com'"):
        people.get_contact("Nobody@x.com")
    with pytest.raises(ContactError, match="no contact has the id 999"):
        people.get_contact(999)
    people.delete_contacts([by_email["email"]])
    with pytest.raises(ContactError, match="no contact has the id"):
        people.get_contact(by_email["id"])


def test_a_viewer_may_search_and_look_up_but_not_erase(people):
    viewer = people.as_user("vi@team.example", "viewer")
    assert viewer.search_contacts("jose")["count"] == 3
    assert viewer.get_contact("jose@x.com")["name"] == "José Álvarez"
    with pytest.raises(PermissionDenied, match="admin"):
        viewer.delete_contacts(["jose@x.com"])


def test_fold():
    assert [fold(t) for t in ("José", "MÜLLER", "Straße", "ﬁne", "Ørsted")] == [
        "jose", "muller", "strasse", "fine", "ørsted"]
