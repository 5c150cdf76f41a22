"""CSV import and export (SPEC §1 "Importing a CSV", §7), checked against pandas and hand-made files."""
from __future__ import annotations

import csv
import datetime as dt
import io
import math

import numpy as np
import pandas as pd
import pytest
from pathlib import Path

from segmenter.contacts import normalize_header, snake_case
from segmenter.csv_export import format_cell, write_csv
from segmenter.csv_import import parse_csv, plan_csv
from segmenter.fields import CORE_TYPES
from segmenter.demo import demo_frame, demo_records
from segmenter.errors import ContactError

UTC = dt.timezone.utc
DATA = Path(__file__).resolve().parent / "data" / "customers-10000.csv"  # source: tests/data/README.md
DEMO_FIELDS = {"plan": "text", "country": "text", "mrr": "number", "vip": "boolean"}


def write(tmp_path: Path, text: str | bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def by_header(plan) -> dict:
    return {c.header: c for c in plan.columns}


def records(parsed) -> list[dict]:
    return [r for _, r in parsed.rows]


# ---------------------------------------------------------------- the real file

@pytest.fixture(scope="module")
def customers():
    assert DATA.is_file(), f"test data missing: {DATA}"
    expected = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    return expected, parse_csv(DATA, {})


def test_customers_row_count_and_no_rejections(customers):
    expected, parsed = customers
    assert parsed.plan.row_count == len(expected)
    assert len(parsed.rows) == len(expected)
    assert parsed.rejected == []


def test_customers_line_numbers_point_at_the_physical_line(customers):
    expected, parsed = customers
    lines = DATA.read_text(encoding="utf-8").splitlines()
    for (line, record), index in zip(parsed.rows, expected["Index"]):
        assert lines[line - 1].startswith(index + ",")
        assert record["index"] == int(index)


def test_customers_subscription_date_is_dayfirst_datetime(customers):
    expected, parsed = customers
    col = by_header(parsed.plan)["Subscription Date"]
    assert (col.field, col.type, col.new) == ("subscription_date", "datetime", True)
    assert parsed.plan.date_orders["subscription_date"] == "dayfirst"
    truth = pd.to_datetime(expected["Subscription Date"], format="%d-%m-%Y", utc=True)
    assert [r["subscription_date"] for r in records(parsed)] == [t.to_pydatetime() for t in truth]
    row4 = expected.index[expected["Subscription Date"] == "02-07-2020"][0]
    assert records(parsed)[row4]["subscription_date"] == dt.datetime(2020, 7, 2, tzinfo=UTC)


def test_customers_phone_is_text_with_plus_kept(customers):
    expected, parsed = customers
    col = by_header(parsed.plan)["Phone 1"]
    assert (col.field, col.type) == ("phone_1", "text")
    assert expected["Phone 1"].str.startswith("+").any()
    assert [r["phone_1"] for r in records(parsed)] == expected["Phone 1"].tolist()


def test_customers_text_columns_match_pandas(customers):
    expected, parsed = customers
    assert expected["Company"].str.contains(",").any()
    assert [r["company"] for r in records(parsed)] == expected["Company"].tolist()
    assert by_header(parsed.plan)["Customer Id"].type == "text"
    assert [r["customer_id"] for r in records(parsed)] == expected["Customer Id"].tolist()
    assert [r.get("website", "") for r in records(parsed)] == expected["Website"].tolist()
    assert (expected["Website"] == "").any()


def test_customers_index_is_a_number_field(customers):
    expected, parsed = customers
    col = by_header(parsed.plan)["Index"]
    assert (col.field, col.type, col.new) == ("index", "number", True)
    assert parsed.plan.new_fields["index"] == "number"
    assert [r["index"] for r in records(parsed)] == expected["Index"].astype(int).tolist()


def test_customers_email_and_name(customers):
    expected, parsed = customers
    cols = by_header(parsed.plan)
    assert (cols["Email"].field, cols["Email"].new) == ("email", False)
    assert cols["First Name"].field == cols["Last Name"].field == "name"
    assert "first_name" not in parsed.plan.new_fields
    assert [r["email"] for r in records(parsed)] == expected["Email"].str.strip().str.lower().tolist()
    names = (expected["First Name"] + " " + expected["Last Name"]).tolist()
    assert [r["name"] for r in records(parsed)] == names


def test_customers_country_counts_match_pandas(customers):
    expected, parsed = customers
    for country in ("Norway", "Andorra", "Nepal"):
        assert sum(r["country"] == country for r in records(parsed)) == (expected["Country"] == country).sum()


def test_plan_csv_is_the_plan_of_parse_csv(customers):
    _, parsed = customers
    assert plan_csv(DATA, {}) == parsed.plan


# ---------------------------------------------------------------- headers and mapping

@pytest.mark.parametrize("header, expected", [
    ("E-mail", "email"), ("Email", "email"), (" EMAIL ", "email"), ("e_mail", "email"),
    ("Created At", "createdat"), ("created-at", "createdat"), ("Phone 1", "phone1"),
])
def test_normalize_header(header, expected):
    assert normalize_header(header) == expected


@pytest.mark.parametrize("header, expected", [
    ("Phone 1", "phone_1"), ("Customer Id", "customer_id"), ("Subscription Date", "subscription_date"),
    ("customerID", "customer_id"), ("1st purchase", "f_1st_purchase"), ("Straße", "straße"), ("日本", "日本"),
    ("  Total (EUR) ", "total_eur"), ("Index", "index"),
])
def test_snake_case(header, expected):
    assert snake_case(header) == expected


def test_snake_case_always_gives_a_valid_field_name():
    for header in ("", "---", "€", "x" * 100, "9" * 70):
        name = snake_case(header, 4)
        assert len(name) <= 63 and name[0].isalpha() and name.replace("_", "").isalnum() and name.islower()
    assert snake_case("€", 4) == "column_4"


@pytest.mark.parametrize("header", ["E-mail", " EMAIL ", "email", "e_mail", "Email Address"])
def test_email_header_variants(tmp_path, header):
    parsed = parse_csv(write(tmp_path, f"{header},Full Name\nAnn@X.io,Ann Lee\n"), {})
    assert by_header(parsed.plan)[header.strip()].field == "email"
    assert records(parsed) == [{"email": "ann@x.io", "full_name": "Ann Lee"}]


def test_explicit_mapping_overrides_and_skips(tmp_path):
    path = write(tmp_path, "Correo,Empresa,Notes,Tier,Status\na@x.io,Acme Inc,call back,gold,active\n")
    mapping = {"Correo": "email", "Empresa": "company", "Notes": None, "Tier": "tier", "Status": "state"}
    parsed = parse_csv(path, {}, mapping=mapping)
    cols = by_header(parsed.plan)
    assert cols["Notes"].field is None
    assert (cols["Tier"].field, cols["Tier"].new) == ("tier", True)
    assert parsed.plan.new_fields == {"tier": "text", "state": "text"}
    assert records(parsed) == [{"email": "a@x.io", "company": "Acme Inc", "tier": "gold", "state": "active"}]


def test_mapping_to_a_known_custom_field_keeps_its_type(tmp_path):
    path = write(tmp_path, "email,Monthly\na@x.io,12.5\nb@x.io,lots\n")
    parsed = parse_csv(path, {"mrr": "number"}, mapping={"Monthly": "mrr"})
    assert parsed.plan.new_fields == {}
    assert records(parsed) == [{"email": "a@x.io", "mrr": 12.5}]
    assert parsed.rejected[0][0] == 3 and "mrr" in parsed.rejected[0][1] and "'lots'" in parsed.rejected[0][1]


def test_known_custom_field_matched_by_header(tmp_path):
    path = write(tmp_path, "email,MRR,VIP\na@x.io,10,yes\n")
    parsed = parse_csv(path, {"mrr": "number", "vip": "boolean"})
    assert parsed.plan.new_fields == {}
    assert records(parsed) == [{"email": "a@x.io", "mrr": 10, "vip": True}]


@pytest.mark.parametrize("mapping", [{"Nope": "email"}, {"Mail": "Not A Name"}, {"Mail": "id"}])
def test_bad_mapping_is_an_error(tmp_path, mapping):
    with pytest.raises(ContactError):
        parse_csv(write(tmp_path, "Mail,name\na@x.io,Ann\n"), {}, mapping=mapping)


def test_two_columns_for_one_field_is_an_error(tmp_path):
    with pytest.raises(ContactError, match="email"):
        parse_csv(write(tmp_path, "Email,E-mail\na@x.io,b@x.io\n"), {})


def test_id_column_ignored_but_index_kept(tmp_path):
    parsed = parse_csv(write(tmp_path, "ID,email,Index\n99,a@x.io,1\n"), {})
    cols = by_header(parsed.plan)
    assert cols["ID"].field is None and "ids" in cols["ID"].note
    assert records(parsed) == [{"email": "a@x.io", "index": 1}]


def test_first_and_last_name_make_the_name(tmp_path):
    text = "First Name,Last Name,email\nAnn,Lee,a@x.io\n,Solo,b@x.io\nMono,,c@x.io\n,,d@x.io\n"
    parsed = parse_csv(write(tmp_path, text), {})
    assert [r.get("name") for r in records(parsed)] == ["Ann Lee", "Solo", "Mono", None]
    assert parsed.plan.new_fields == {}


def test_name_column_wins_over_first_and_last(tmp_path):
    parsed = parse_csv(write(tmp_path, "Name,First Name,Last Name,email\nAnn Lee,A,L,a@x.io\n"), {})
    assert records(parsed) == [{"name": "Ann Lee", "first_name": "A", "last_name": "L", "email": "a@x.io"}]


# ---------------------------------------------------------------- type inference

def test_inferred_types(tmp_path):
    text = ("email,zip,phone,score,ratio,joined,vip,mixed,blank\n"
            "a@x.io,0123,+4712345,1,0.5,2024-01-02,yes,12,\n"
            "b@x.io,4567,+4767890,-3,2,2024-02-03T10:00:00Z,No,2020-01-01,\n"
            "c@x.io,89,+4711111,10,1e3,2024-03-04,TRUE,abc,\n")
    parsed = parse_csv(write(tmp_path, text), {})
    assert parsed.plan.new_fields == {"zip": "text", "phone": "text", "score": "number", "ratio": "number",
                                      "joined": "datetime", "vip": "boolean", "mixed": "text", "blank": "text"}
    first, second, third = records(parsed)
    assert (first["zip"], first["phone"], first["score"], first["ratio"]) == ("0123", "+4712345", 1, 0.5)
    assert (second["score"], second["ratio"], second["vip"]) == (-3, 2, False)
    assert (third["ratio"], third["vip"], third["mixed"]) == (1000.0, True, "abc")
    assert second["joined"] == dt.datetime(2024, 2, 3, 10, tzinfo=UTC)
    assert "blank" not in first
    assert parsed.rejected == []


def test_integers_too_long_for_exact_numbers_stay_text(tmp_path):
    big = str(2**53 + 1)
    parsed = parse_csv(write(tmp_path, f"email,account,small\na@x.io,{big},{2**53}\n"), {})
    assert parsed.plan.new_fields == {"account": "text", "small": "number"}
    assert records(parsed)[0]["account"] == big


def test_phone_numbers_with_dashes_are_text(tmp_path):
    parsed = parse_csv(write(tmp_path, "email,phone\na@x.io,043-797-5229\nb@x.io,555-1234\n"), {})
    assert parsed.plan.new_fields == {"phone": "text"}
    assert records(parsed)[0]["phone"] == "043-797-5229"


def test_boolean_column_with_other_words_is_text(tmp_path):
    parsed = parse_csv(write(tmp_path, "email,opt\na@x.io,yes\nb@x.io,maybe\n"), {})
    assert parsed.plan.new_fields == {"opt": "text"}


def test_known_boolean_field_rejects_other_words(tmp_path):
    parsed = parse_csv(write(tmp_path, "email,vip\na@x.io,Yes\nb@x.io,maybe\n"), {"vip": "boolean"})
    assert records(parsed) == [{"email": "a@x.io", "vip": True}]
    assert parsed.rejected[0][0] == 3 and "vip" in parsed.rejected[0][1] and "'maybe'" in parsed.rejected[0][1]


# ---------------------------------------------------------------- dates

def test_ambiguous_dates_are_monthfirst_by_default(tmp_path):
    path = write(tmp_path, "email,joined\na@x.io,02-07-2020\nb@x.io,03/04/2021\n")
    parsed = parse_csv(path, {})
    assert parsed.plan.date_orders == {"joined": "monthfirst"}
    assert [r["joined"].date() for r in records(parsed)] == [dt.date(2020, 2, 7), dt.date(2021, 3, 4)]


def test_dayfirst_true_decides_ambiguous_dates(tmp_path):
    path = write(tmp_path, "email,joined\na@x.io,02-07-2020\nb@x.io,03.04.2021\n")
    parsed = parse_csv(path, {}, dayfirst=True)
    assert parsed.plan.date_orders == {"joined": "dayfirst"}
    assert [r["joined"].date() for r in records(parsed)] == [dt.date(2020, 7, 2), dt.date(2021, 4, 3)]


def test_values_decide_over_the_callers_default(tmp_path):
    path = write(tmp_path, "email,joined\na@x.io,02/07/2020\nb@x.io,12/25/2020\n")
    parsed = parse_csv(path, {}, dayfirst=True)
    assert parsed.plan.date_orders == {"joined": "monthfirst"}
    assert records(parsed)[0]["joined"].date() == dt.date(2020, 2, 7)


def test_contradicting_date_is_rejected_with_its_line(tmp_path):
    text = "email,joined\na@x.io,02-07-2020\nb@x.io,26-08-2020\nc@x.io,08-26-2020\nd@x.io,31-31-2020\n"
    parsed = parse_csv(write(tmp_path, text), {"joined": "datetime"})
    assert parsed.plan.date_orders == {"joined": "dayfirst"}
    assert [r["joined"].date() for r in records(parsed)] == [dt.date(2020, 7, 2), dt.date(2020, 8, 26)]
    assert [line for line, _ in parsed.rejected] == [4, 5]
    reason = parsed.rejected[0][1]
    assert reason.startswith("line 4:") and "joined" in reason and "'08-26-2020'" in reason
    assert "'26-08-2020'" in reason  # the value that made the column day-first
    assert "joined" in parsed.rejected[1][1] and "'31-31-2020'" in parsed.rejected[1][1]


def test_new_column_with_contradicting_dates_is_datetime_and_rejects(tmp_path):
    text = "email,joined\na@x.io,26-08-2020\nb@x.io,08-26-2020\n"
    parsed = parse_csv(write(tmp_path, text), {})
    assert parsed.plan.new_fields == {"joined": "datetime"}
    assert [line for line, _ in parsed.rejected] == [3]


def test_new_column_with_a_non_date_is_text(tmp_path):
    parsed = parse_csv(write(tmp_path, "email,joined\na@x.io,26-08-2020\nb@x.io,31-31-2020\n"), {})
    assert parsed.plan.new_fields == {"joined": "text"} and parsed.rejected == []


def test_created_at_accepts_iso_forms(tmp_path):
    text = ("email,created_at\na@x.io,2026-01-05\nb@x.io,2026-01-05T12:00:00+02:00\n"
            "c@x.io,2026-01-05T10:00:00Z\nd@x.io,2026-01-05T10:00:00\ne@x.io,yesterday\n")
    parsed = parse_csv(write(tmp_path, text), {})
    got = [r["created_at"] for r in records(parsed)]
    ten = dt.datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert got == [dt.datetime(2026, 1, 5, tzinfo=UTC), ten, ten, ten]
    assert all(v.utcoffset() == dt.timedelta(0) for v in got)
    assert parsed.rejected[0][0] == 6 and "created_at" in parsed.rejected[0][1]
    assert parsed.plan.date_orders == {"created_at": "iso"}


# ---------------------------------------------------------------- rows and lines

def test_multiline_cells_and_physical_line_numbers(tmp_path):
    text = ('email,notes\na@x.io,"one\ntwo\nthree"\nb@x.io,plain\nc@x.io,"x\ny"\nbad,"q"\n'
            'd@x.io,"a, b ""quoted"""\n')
    for newline in ("\n", "\r\n"):
        parsed = parse_csv(write(tmp_path, text.replace("\n", newline)), {})
        assert [line for line, _ in parsed.rows] == [2, 5, 6, 9]
        assert [line for line, _ in parsed.rejected] == [8]
        assert records(parsed)[0]["notes"] == "one{0}two{0}three".format(newline)
        assert records(parsed)[3]["notes"] == 'a, b "quoted"'


@pytest.mark.parametrize("email", ["bob@", "bob", "bob@example", "bo b@x.com", "a@b@c.com", "@x.com", "a@x..com"])
def test_bad_email_rejected(tmp_path, email):
    parsed = parse_csv(write(tmp_path, f'name,email\nAnn,ok@x.io\nBob,"{email}"\n'), {})
    assert len(parsed.rows) == 1
    (line, reason), = parsed.rejected
    assert line == 3 and reason.startswith("line 3:") and "email" in reason and repr(email) in reason


def test_email_trimmed_lower_cased_and_required(tmp_path):
    parsed = parse_csv(write(tmp_path, "email,name\n  Alice@Example.COM ,Alice\n,Nobody\n"), {})
    assert records(parsed) == [{"email": "alice@example.com", "name": "Alice"}]
    assert parsed.rejected[0][0] == 3 and "email" in parsed.rejected[0][1]


def test_ragged_rows(tmp_path):
    parsed = parse_csv(write(tmp_path, "email,name\na@x.io,Ann,extra\nb@x.io,Bob,\nc@x.io\n"), {})
    assert [line for line, _ in parsed.rejected] == [2]
    assert "3" in parsed.rejected[0][1] and "2" in parsed.rejected[0][1]
    assert records(parsed) == [{"email": "b@x.io", "name": "Bob"}, {"email": "c@x.io"}]


def test_cells_trimmed_and_empty_cells_left_out(tmp_path):
    parsed = parse_csv(write(tmp_path, "email,company,status\na@x.io,  Acme  ,\n"), {})
    assert records(parsed) == [{"email": "a@x.io", "company": "Acme"}]


def test_repeated_email_keeps_both_rows_in_file_order(tmp_path):
    parsed = parse_csv(write(tmp_path, "email,status\na@x.io,active\nA@X.io,bounced\n"), {})
    assert parsed.rows == [(2, {"email": "a@x.io", "status": "active"}), (3, {"email": "a@x.io", "status": "bounced"})]


def test_blank_lines_are_skipped_but_counted(tmp_path):
    parsed = parse_csv(write(tmp_path, "email\n\na@x.io\n,\nb@x.io\n"), {})
    assert [line for line, _ in parsed.rows] == [3, 5]
    assert parsed.plan.row_count == 2


# ---------------------------------------------------------------- files and sources

def test_bom_is_accepted(tmp_path):
    parsed = parse_csv(write(tmp_path, b"\xef\xbb\xbfEmail,Name\na@x.io,Ann\n"), {})
    assert records(parsed) == [{"email": "a@x.io", "name": "Ann"}]


def test_sources_bytes_binary_and_text_files(tmp_path):
    raw = "email,name\na@x.io,Zoë\n".encode()
    expected = [{"email": "a@x.io", "name": "Zoë"}]
    upload = io.BytesIO(raw)
    assert plan_csv(upload, {}).row_count == 1
    assert records(parse_csv(upload, {})) == expected  # the same upload read again after a preview
    assert records(parse_csv(raw, {})) == expected
    assert records(parse_csv(io.StringIO(raw.decode()), {})) == expected
    assert records(parse_csv(str(write(tmp_path, raw)), {})) == expected


def test_non_utf8_is_an_error(tmp_path):
    with pytest.raises(ContactError, match="UTF-8"):
        parse_csv(write(tmp_path, "email,name\na@x.io,Müller\n".encode("latin-1")), {})


@pytest.mark.parametrize("text", ["", "\n\n", "name,company\nAnn,Acme\n"])
def test_no_header_or_no_email_column_is_an_error(tmp_path, text):
    with pytest.raises(ContactError):
        parse_csv(write(tmp_path, text), {})


def test_binary_file_is_an_error(tmp_path):
    with pytest.raises(ContactError):
        parse_csv(write(tmp_path, b"email\x00\x01\x02\na@x.io\n"), {})


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ContactError):
        parse_csv(tmp_path / "nope.csv", {})


def test_max_bytes(tmp_path):
    raw = ("email,name\n" + "".join(f"u{i}@x.io,User {i}\n" for i in range(100))).encode()
    path = write(tmp_path, raw)
    for source in (path, raw, io.BytesIO(raw)):
        with pytest.raises(ContactError, match=r"file is .* MB; the limit is .* MB"):
            parse_csv(source, {}, max_bytes=len(raw) - 1)
        assert len(parse_csv(source, {}, max_bytes=len(raw)).rows) == 100


def test_semicolon_separated_file(tmp_path):
    parsed = parse_csv(write(tmp_path, "email;name\na@x.io;Ann Lee\n"), {})
    assert records(parsed) == [{"email": "a@x.io", "name": "Ann Lee"}]


def test_core_fields():
    assert tuple(CORE_TYPES) == ("email", "name", "company", "status", "created_at")


# ---------------------------------------------------------------- export

def read_back(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_injection_guard(trigger):
    value = trigger + "SUM(A1:A9)"
    out = io.StringIO()
    write_csv(out, ["id", "company"], [pd.DataFrame({"id": [1], "company": [value]})])
    assert read_back(out.getvalue())[1] == ["1", "'" + value]
    assert format_cell(value) == "'" + value


def test_safe_text_is_unchanged():
    for value in ("Acme", "a=b", "x-1", "'quoted", "Müller"):
        assert format_cell(value) == value


def test_numbers_booleans_dates_and_missing():
    when = dt.datetime(2026, 1, 5, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    frame = pd.DataFrame({"n": [12.0, 1 / 3, -5.0, math.nan], "i": [7, -2, 0, 3],
                          "b": [True, False, True, False], "t": [when, None, when, None]})
    out = io.StringIO()
    assert write_csv(out, ["n", "i", "b", "t"], [frame]) == 4
    lines = out.getvalue().splitlines()
    assert lines[0] == "n,i,b,t"
    assert lines[1] == "12,7,true,2026-01-05T10:00:00Z"
    assert lines[2] == f"{1 / 3!r},-2,false,"
    assert lines[3] == "-5,0,true,2026-01-05T10:00:00Z"
    assert lines[4] == ",3,false,"


@pytest.mark.parametrize("value, expected", [
    (None, ""), (math.nan, ""), (pd.NA, ""), (pd.NaT, ""), (True, "true"), (np.bool_(False), "false"),
    (12.0, "12"), (np.float64(2.5), "2.5"), (np.int64(-4), "-4"), (0.1, "0.1"),
    (dt.datetime(2026, 1, 5, 10, 0), "2026-01-05T10:00:00Z"),
    (pd.Timestamp("2026-01-05 10:00:00.5", tz="UTC"), "2026-01-05T10:00:00.500000Z"),
])
def test_format_cell(value, expected):
    assert format_cell(value) == expected


def test_text_round_trips_through_csv_reader():
    texts = ["plain", "comma, inside", 'quote " inside', "new\nline", "crlf\r\nline", "Zoë Łukasz", ""]
    frame = pd.DataFrame({"id": range(len(texts)), "note": pd.array(texts, dtype="str")})
    out = io.StringIO()
    write_csv(out, ["id", "note"], [frame])
    rows = read_back(out.getvalue())
    assert rows[0] == ["id", "note"]
    assert [r[1] for r in rows[1:]] == texts


def test_export_streams_batch_by_batch():
    out = io.StringIO()
    seen_before_next = []

    def batches():
        for start in range(0, 9, 3):
            yield pd.DataFrame({"id": range(start, start + 3), "email": [f"u{i}@x.io" for i in range(start, start + 3)]})
            seen_before_next.append(len(out.getvalue().splitlines()) - 1)

    assert write_csv(out, ["id", "email", "plan"], batches()) == 9
    assert seen_before_next == [3, 6, 9]
    rows = read_back(out.getvalue())
    assert rows[0] == ["id", "email", "plan"] and len(rows) == 10
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(9)] and {r[2] for r in rows[1:]} == {""}


def test_export_to_path_and_binary_file(tmp_path):
    frame = pd.DataFrame({"id": [1], "name": ["Zoë"]})
    path = tmp_path / "out.csv"
    assert write_csv(path, ["id", "name"], [frame]) == 1
    binary = io.BytesIO()
    write_csv(binary, ["id", "name"], [frame])
    assert path.read_bytes() == binary.getvalue()
    assert read_back(path.read_text(encoding="utf-8")) == [["id", "name"], ["1", "Zoë"]]


def test_guarded_text_round_trips_through_export_and_import(tmp_path):
    values = ["=HYPERLINK(1)", "+47 555 0101", "-minus", "@home", "'quoted", "plain"]
    frame = pd.DataFrame({"email": [f"u{i}@x.io" for i in range(len(values))], "note": values})
    path = tmp_path / "out.csv"
    write_csv(path, ["email", "note"], [frame])
    assert [r["note"] for r in records(parse_csv(path, {"note": "text"}))] == values


def test_demo_contacts_round_trip_through_export_and_import(tmp_path):
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    frame = demo_frame(500, seed=11, now=now)
    path = tmp_path / "demo.csv"
    write_csv(path, list(frame.columns), [frame.iloc[:200], frame.iloc[200:]])
    parsed = parse_csv(path, DEMO_FIELDS)
    assert parsed.rejected == [] and parsed.plan.new_fields == {}
    expected = [{k: v for k, v in r.items() if v is not None} for r in demo_records(500, seed=11, now=now)]
    assert records(parsed) == expected
