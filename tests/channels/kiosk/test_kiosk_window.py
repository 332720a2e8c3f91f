"""The kiosk by simulated taps, offscreen, against a real gateway on a loopback port."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication, QPushButton

from channels.kiosk.effects import TECHNICIAN_EXIT
from channels.kiosk.flow import STILL_THERE_SECONDS
from channels.kiosk.texts import shown_digits, texts
from core.calendar.dates import RIYADH, format_date
from core.kiosks import heartbeats as core_kiosks
from tests import factories as f
from tests.channels.kiosk.conftest import pdf_text

NUMBER = "4471234"
UNKNOWN = "9990001"
WAIT_MS = 15_000
AT = datetime(2026, 12, 1, 7, 30, 5, tzinfo=UTC)  # 10:30:05 in Riyadh, not the registration day


@pytest.fixture
def transaction(core):
    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered(NUMBER, "2026-11-23T09:15:00+03:00"))


def tap(qtbot, window, name: str) -> None:
    button = window.findChild(QPushButton, name)
    assert button is not None and button.isVisible(), name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def key_in(qtbot, window, digits: str) -> None:
    for digit in digits:
        qtbot.mouseClick(window.keypad.keys[digit], Qt.MouseButton.LeftButton)


def label(window, name: str) -> str:
    return window.w[name].text()


def inquire(qtbot, window, number: str, national_id: str) -> None:
    tap(qtbot, window, "start")
    key_in(qtbot, window, number)
    tap(qtbot, window, "key-next")
    key_in(qtbot, window, national_id)
    tap(qtbot, window, "key-next")
    qtbot.waitUntil(lambda: window.screen_name == "result", timeout=WAIT_MS)


def gateway_text(client, kiosk_token, number, national_id, lang) -> str:
    response = client.post("/api/v1/inquiries", headers={"Authorization": f"Bearer {kiosk_token}"},
                           json={"number": number, "national_id": national_id, "lang": lang})
    return response.get_json()["text"]


def test_arabic_inquiry_by_taps_shows_the_gateways_answer(qtbot, kiosk, transaction, client,
                                                         kiosk_token):
    assert kiosk.screen_name == "home"
    assert QApplication.layoutDirection() == Qt.LayoutDirection.RightToLeft
    tap(qtbot, kiosk, "start")
    key_in(qtbot, kiosk, NUMBER)
    assert label(kiosk, "value") == "٤٤٧١٢٣٤"  # Arabic-Indic on an Arabic screen
    tap(qtbot, kiosk, "key-next")
    key_in(qtbot, kiosk, f.NATIONAL_ID)
    assert label(kiosk, "value") == "\u25cf" * 10  # masked as typed
    tap(qtbot, kiosk, "key-next")
    qtbot.waitUntil(lambda: kiosk.screen_name == "result", timeout=WAIT_MS)

    assert label(kiosk, "answer") == shown_digits(
        gateway_text(client, kiosk_token, NUMBER, f.NATIONAL_ID, "ar"), "ar")
    assert "٤٤٧١٢٣٤" in label(kiosk, "answer")
    # In words with the sign, not only colour: "✔ حالة المعاملة", not a bare "found".
    assert label(kiosk, "status") == "\u2714 حالة المعاملة"
    assert kiosk.w["status"].accessibleName() == "حالة المعاملة"
    assert kiosk.flow.state.national_id == ""


def test_english_switch_flips_texts_and_direction_but_not_the_keypad(qtbot, kiosk, transaction,
                                                                     client, kiosk_token):
    tap(qtbot, kiosk, "language")
    assert QApplication.layoutDirection() == Qt.LayoutDirection.LeftToRight
    assert label(kiosk, "start") == texts("en")["title"]
    inquire(qtbot, kiosk, NUMBER, f.NATIONAL_ID)
    assert label(kiosk, "answer") == gateway_text(client, kiosk_token, NUMBER, f.NATIONAL_ID,
                                                  "en")
    tap(qtbot, kiosk, "done")
    assert kiosk.screen_name == "home"
    assert QApplication.layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert kiosk.keypad.layoutDirection() == Qt.LayoutDirection.LeftToRight
    one, three = kiosk.keypad.keys["1"], kiosk.keypad.keys["3"]
    assert one.mapTo(kiosk, one.rect().center()).x() < three.mapTo(kiosk,
                                                                   three.rect().center()).x()


def test_wrong_id_and_unknown_number_get_the_same_answer(qtbot, kiosk, transaction):
    inquire(qtbot, kiosk, NUMBER, f.OTHER_NATIONAL_ID)
    wrong_id = label(kiosk, "answer")
    assert not kiosk.findChild(QPushButton, "print").isVisible()
    tap(qtbot, kiosk, "done")
    inquire(qtbot, kiosk, UNKNOWN, f.NATIONAL_ID)
    assert label(kiosk, "answer") == wrong_id
    assert label(kiosk, "status") == "\u2716 لم يُعثر على معاملة"


def test_idle_timeout_wipes_what_was_typed_and_shown(qtbot, kiosk, transaction):
    inquire(qtbot, kiosk, NUMBER, f.NATIONAL_ID)
    tap(qtbot, kiosk, "language")  # the next person starts in Arabic again
    for _ in range(kiosk.flow.idle_seconds):
        kiosk.tick()
    assert kiosk.screen_name == "still_there"
    for _ in range(STILL_THERE_SECONDS):
        kiosk.tick()
    assert kiosk.screen_name == "home"
    state = kiosk.flow.state
    assert (state.number, state.national_id, state.reply, state.lang) == ("", "", None, "ar")
    assert label(kiosk, "answer") == "" and NUMBER not in label(kiosk, "value")


def test_a_key_press_anywhere_keeps_the_citizen_from_being_wiped(qtbot, kiosk):
    tap(qtbot, kiosk, "start")
    for _ in range(kiosk.flow.idle_seconds - 1):
        kiosk.tick()
    qtbot.keyClick(kiosk, Qt.Key.Key_5)  # through the application-wide filter
    kiosk.tick()
    assert kiosk.screen_name == "number"


def test_gateway_down_then_back(qtbot, kiosk, gateway, transaction):
    gateway.stop()
    tap(qtbot, kiosk, "start")
    key_in(qtbot, kiosk, NUMBER)
    tap(qtbot, kiosk, "key-next")
    key_in(qtbot, kiosk, f.NATIONAL_ID)
    tap(qtbot, kiosk, "key-next")
    qtbot.waitUntil(lambda: kiosk.screen_name == "offline", timeout=WAIT_MS)
    assert "٧٤٧٤٧" in label(kiosk, "offline_body")  # the Arabic screen's digits
    # and English beside it: both languages at once.
    assert "74747" in label(kiosk, "offline_body_other")
    assert "8001287788" in label(kiosk, "offline_body_other")
    countdown = label(kiosk, "retry_in")
    kiosk.tick()
    assert label(kiosk, "retry_in") != countdown  # the countdown is visible and moves

    gateway.start()
    tap(qtbot, kiosk, "retry_now")
    # The held inquiry is wiped, never sent: the next person starts from home.
    qtbot.waitUntil(lambda: kiosk.screen_name == "home", timeout=WAIT_MS)
    state = kiosk.flow.state
    assert (state.number, state.national_id, state.reply) == ("", "", None)
    assert kiosk.last_inquiry_at is None


def test_the_offline_screen_has_a_button_that_wipes(qtbot, kiosk, gateway):
    gateway.stop()
    tap(qtbot, kiosk, "start")
    key_in(qtbot, kiosk, NUMBER)
    tap(qtbot, kiosk, "key-next")
    key_in(qtbot, kiosk, f.NATIONAL_ID)
    tap(qtbot, kiosk, "key-next")
    qtbot.waitUntil(lambda: kiosk.screen_name == "offline", timeout=WAIT_MS)
    tap(qtbot, kiosk, "offline_home")
    assert (kiosk.flow.state.number, kiosk.flow.state.national_id) == ("", "")


def test_the_technician_exit_needs_the_pin(qtbot, kiosk, monkeypatch):
    quits = []
    monkeypatch.setattr(QApplication, "exit", staticmethod(lambda status=0: quits.append(status)))
    kiosk.corner.set_hold_ms(50)
    qtbot.mousePress(kiosk.corner, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.screen_name == "pin", timeout=WAIT_MS)
    qtbot.mouseRelease(kiosk.corner, Qt.MouseButton.LeftButton)
    key_in(qtbot, kiosk, "111111")
    tap(qtbot, kiosk, "key-next")
    assert kiosk.screen_name == "pin" and label(kiosk, "notice") == texts("ar")["wrong_pin"]
    key_in(qtbot, kiosk, "246813")
    tap(qtbot, kiosk, "key-next")
    assert kiosk.screen_name == "maintenance"
    assert kiosk.config.version in label(kiosk, "version")
    # ASCII details in a left-to-right run of their own on the Arabic screen.
    assert f"\u202a{kiosk.printer.last_state}\u202c" in label(kiosk, "printer")
    assert label(kiosk, "gateway_state") == texts("ar")["gateway_reachable"]
    assert kiosk.close() is False  # not even now by the window manager
    tap(qtbot, kiosk, "exit")
    assert quits == [TECHNICIAN_EXIT] and kiosk.may_close  # systemd does not restart it


def test_escape_and_close_do_not_leave_the_kiosk(qtbot, kiosk):
    tap(qtbot, kiosk, "start")
    qtbot.keyClick(kiosk, Qt.Key.Key_Escape)
    assert kiosk.close() is False
    assert kiosk.isVisible() and kiosk.screen_name == "number"


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_test_mode_receipts_are_pdfs_deleted_at_the_wipe(qtbot, kiosk, transaction, lang):
    kiosk.clock = lambda: AT
    if lang == "en":
        tap(qtbot, kiosk, "language")
    inquire(qtbot, kiosk, NUMBER, f.NATIONAL_ID)
    tap(qtbot, kiosk, "print")
    assert kiosk.screen_name == "receipt"
    qtbot.waitUntil(lambda: kiosk.flow.state.printed, timeout=WAIT_MS)
    assert label(kiosk, "receipt_message") == texts(lang)["printing_saved"]  # not "take it"
    [pdf] = (kiosk.printer.pdf_dir).glob("receipt-hall-1-*.pdf")
    assert NUMBER not in pdf.name
    text = pdf_text(pdf)
    # The number and the date as the screen writes them: ٤٤٧١٢٣٤ on an Arabic receipt.
    assert shown_digits(NUMBER, lang) in text
    assert shown_digits(format_date(AT.astimezone(RIYADH).date(), lang), lang) in text
    assert texts(lang)["receipt_title"] in text
    assert "hall-1-20261201-103005" in text  # the reference, on one line, left to right
    assert f.NATIONAL_ID not in text
    if lang == "ar":  # the answer too writes ٤٤٧١٢٣٤, as the screen did
        assert NUMBER not in text
    for _ in range(kiosk.flow.idle_seconds + STILL_THERE_SECONDS):
        kiosk.tick()
    assert kiosk.screen_name == "home" and not pdf.exists()


def test_no_printer_and_no_pdf_dir_means_no_print_button(qt, qtbot, kiosk_settings,
                                                          transaction):
    from channels.kiosk.app import build_window

    kiosk_settings.kiosk.pdf_dir = ""
    window = build_window(kiosk_settings, show=False)
    qtbot.addWidget(window)
    window.show()
    try:
        inquire(qtbot, window, NUMBER, f.NATIONAL_ID)
        assert not window.findChild(QPushButton, "print").isVisible()
        assert window.printer.state() == "none"
    finally:
        window.shutdown()


def test_a_missing_printer_is_said_on_the_result_screen(qtbot, kiosk, transaction):
    kiosk.printer.printer_name = "no-such-printer"
    inquire(qtbot, kiosk, NUMBER, f.NATIONAL_ID)
    tap(qtbot, kiosk, "print")
    qtbot.waitUntil(lambda: kiosk.screen_name == "result", timeout=WAIT_MS)
    # The status is on the screen, as the notice says.
    assert label(kiosk, "result_notice") == texts("ar")["printer_problem"]
    assert texts("ar")["status_heading"] in label(kiosk, "status")
    assert kiosk.printer.state().startswith("error:")


def test_heartbeat_reaches_the_gateway(kiosk, core):
    [seen] = core_kiosks.kiosks(core.db)
    assert (seen.kiosk_id, seen.token_name, seen.alive) == ("hall-1", "hall-1", True)
    assert seen.version == kiosk.config.version
    assert seen.printer.startswith("pdf (test mode):")


def test_a_refused_token_keeps_the_kiosk_out_of_service(qt, qtbot, kiosk_settings,
                                                         kiosk_token):
    from channels.kiosk.app import build_window

    kiosk_settings.kiosk.token = "gw_revoked-or-never-issued"
    window = build_window(kiosk_settings, show=False)
    qtbot.addWidget(window)
    window.show()
    try:
        window.probe()
        qtbot.waitUntil(lambda: window.screen_name == "error", timeout=WAIT_MS)
        tap(qtbot, window, "error_done")
        for _ in range(window.flow.idle_seconds + STILL_THERE_SECONDS + 1):
            window.tick()
        assert window.screen_name == "error"  # the idle wipe does not reopen it
        assert window.flow.start() == [] and window.screen_name == "error"
        window.client.token = kiosk_token  # a technician fixed it: the next probe
        window.probe()
        qtbot.waitUntil(lambda: window.screen_name == "home", timeout=WAIT_MS)
    finally:
        window.shutdown()


def test_too_many_attempts_have_their_own_screen(qtbot, kiosk, transaction, core):
    for _ in range(core.config.inquiry.max_failures):
        inquire(qtbot, kiosk, UNKNOWN, f.NATIONAL_ID)
        tap(qtbot, kiosk, "done")
    tap(qtbot, kiosk, "start")
    key_in(qtbot, kiosk, NUMBER)
    tap(qtbot, kiosk, "key-next")
    key_in(qtbot, kiosk, f.NATIONAL_ID)
    tap(qtbot, kiosk, "key-next")
    qtbot.waitUntil(lambda: kiosk.screen_name == "rate_limited", timeout=WAIT_MS)
    assert "٧٤٧٤٧" in label(kiosk, "rate_limited_body") and "74747" in label(
        kiosk, "rate_limited_body")  # both languages
    tap(qtbot, kiosk, "rate_limited_done")
    assert kiosk.screen_name == "home"


@pytest.mark.parametrize("large_text", [False, True])
def test_every_button_on_every_page_is_a_large_named_target(qtbot, kiosk, large_text):
    if large_text:
        tap(qtbot, kiosk, "large_text")
    # Each page is put on screen by hand, past the flow: the window's clock would render
    # the flow's own page again at its next second (a loaded machine reached it mid-page).
    kiosk.tick_timer.stop()
    kiosk.heartbeat_timer.stop()
    checked = set()
    for name, page in kiosk.pages.items():
        kiosk.stack.setCurrentWidget(kiosk.scrolls[name])
        for button in page.findChildren(QPushButton):
            button.setVisible(True)  # the result page hides print or "try again"
        qtbot.waitUntil(page.isVisible, timeout=WAIT_MS)
        QApplication.processEvents()
        for button in page.findChildren(QPushButton):
            assert button.isVisible(), (name, button.objectName())
            assert button.width() >= 64 and button.height() >= 64, \
                (name, button.objectName(), button.size())
            assert button.accessibleName(), (name, button.objectName())
            checked.add(button.objectName())
    language = kiosk.w["language"]  # above the pages, on every one
    assert language.width() >= 64 and language.height() >= 64 and language.accessibleName()
    everything = {button.objectName() for button in kiosk.findChildren(QPushButton)}
    assert checked == everything - {"language"} and len(checked) >= 27


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_accessible_names_are_in_the_screens_language(qtbot, kiosk, lang):
    if lang == "en":
        tap(qtbot, kiosk, "language")
    tap(qtbot, kiosk, "start")
    assert kiosk.keypad.accessibleName() == texts(lang)["keypad"]
    assert kiosk.keypad.delete.accessibleName() == texts(lang)["delete"]  # no "erase left"
    assert kiosk.keypad.keys["7"].accessibleName() == shown_digits("7", lang)


def test_the_hidden_corner_is_not_announced_nor_focusable(kiosk):
    assert kiosk.corner.accessibleName() == ""
    assert kiosk.corner.focusPolicy() == Qt.FocusPolicy.NoFocus
    from PyQt6.QtWidgets import QWidget

    for widget in kiosk.findChildren(QWidget):
        assert "technician" not in widget.accessibleName().lower(), widget.objectName()


def test_large_text_and_high_contrast_toggles(qtbot, kiosk):
    before = kiosk.w["start"].font().pixelSize()
    tap(qtbot, kiosk, "large_text")
    tap(qtbot, kiosk, "high_contrast")
    assert kiosk.w["start"].font().pixelSize() > before
    assert "black" in kiosk.styleSheet()
    assert texts("ar")["on"] in label(kiosk, "large_text")


def test_the_kiosk_starts_with_the_gateway_down(qt, qtbot, kiosk_settings, gateway):
    from channels.kiosk.app import build_window

    gateway.stop()
    window = build_window(kiosk_settings, show=False)
    qtbot.addWidget(window)
    try:
        window.probe()
        qtbot.waitUntil(lambda: window.screen_name == "offline", timeout=WAIT_MS)
        assert label(window, "last_reached") == texts("ar")["never_reached"]
    finally:
        window.shutdown()


def test_full_screen_covers_the_primary_screen(qt, qtbot, kiosk_settings):
    from channels.kiosk.app import build_window

    kiosk_settings.kiosk.fullscreen = True
    window = build_window(kiosk_settings)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(window.isFullScreen, timeout=WAIT_MS)
        assert window.geometry() == QApplication.primaryScreen().geometry()
    finally:
        window.shutdown()


def test_the_full_screen_kiosk_is_re_fitted_when_screens_change(qt, qtbot, kiosk_settings):
    from channels.kiosk.app import build_window

    kiosk_settings.kiosk.fullscreen = True
    window = build_window(kiosk_settings)
    qtbot.addWidget(window)
    screen = QApplication.primaryScreen()
    try:
        qtbot.waitUntil(window.isFullScreen, timeout=WAIT_MS)
        fits = []
        fit = window.fit_screen

        def covers() -> bool:
            # All of it: no page needs more than the screen (test_kiosk_layout.py).
            return window.isFullScreen() and window.geometry() == screen.geometry()

        window.fit_screen = lambda: (fits.append(1), fit())

        window.showNormal()
        window.setGeometry(10, 10, 300, 200)
        qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=WAIT_MS)
        screen.geometryChanged.emit(screen.geometry())  # the monitor was resized
        qtbot.waitUntil(covers, timeout=WAIT_MS)
        assert len(fits) == 1

        window.showNormal()
        window.setGeometry(10, 10, 300, 200)
        qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=WAIT_MS)
        QApplication.instance().primaryScreenChanged.emit(screen)  # another primary screen
        qtbot.waitUntil(covers, timeout=WAIT_MS)
        assert len(fits) == 2
        # Watching the new primary screen, once: one change, one re-fit.
        screen.geometryChanged.emit(screen.geometry())
        assert len(fits) == 3
    finally:
        window.shutdown()
    screen.geometryChanged.emit(screen.geometry())
    assert len(fits) == 3  # a shut-down window watches nothing


@pytest.mark.parametrize("configured", [True, False])
def test_the_pointer_is_hidden_only_when_configured(qt, kiosk_settings, configured):
    from channels.kiosk.app import hide_cursor

    assert QApplication.overrideCursor() is None
    kiosk_settings.kiosk.hide_cursor = configured
    hide_cursor(qt, kiosk_settings.kiosk.hide_cursor)
    hide_cursor(qt, kiosk_settings.kiosk.hide_cursor)  # a second call stacks nothing
    try:
        if configured:
            assert QApplication.overrideCursor().shape() == Qt.CursorShape.BlankCursor
            QApplication.restoreOverrideCursor()
            assert QApplication.overrideCursor() is None
        else:
            assert QApplication.overrideCursor() is None
    finally:
        while QApplication.overrideCursor() is not None:
            QApplication.restoreOverrideCursor()


class _Queue:
    """What QPrinterInfo tells of a CUPS queue (no CUPS on the test machine)."""

    def __init__(self, state) -> None:
        self._state = state

    def isNull(self) -> bool:  # noqa: N802 (Qt's name)
        return False

    def state(self):
        return self._state


def test_a_stopped_print_queue_is_told_and_not_printed_to(qtbot, kiosk, transaction, core,
                                                          monkeypatch):
    from PyQt6.QtPrintSupport import QPrinter, QPrinterInfo

    queue = _Queue(QPrinter.PrinterState.Idle)
    monkeypatch.setattr(QPrinterInfo, "printerInfo", staticmethod(lambda name: queue))
    kiosk.printer.printer_name = "receipts"
    assert kiosk.printer.state() == "ready: receipts"

    queue._state = QPrinter.PrinterState.Error  # paper out: CUPS stopped the queue
    inquire(qtbot, kiosk, NUMBER, f.NATIONAL_ID)
    tap(qtbot, kiosk, "print")
    qtbot.waitUntil(lambda: kiosk.screen_name == "result", timeout=WAIT_MS)
    assert label(kiosk, "result_notice") == texts("ar")["printer_problem"]
    tap(qtbot, kiosk, "done")
    kiosk.printer.last_problem = ""  # what the queue says now, not the last job
    # A heartbeat carries what the printing thread last found, and has it asked anew.
    kiosk.probe()
    # The printing thread answers when it gets to it (later on a loaded machine).
    qtbot.waitUntil(lambda: kiosk.printer.last_state.startswith("stopped: receipts"),
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not kiosk.errands.probing and not kiosk.errands.asking_printer,
                    timeout=WAIT_MS)
    kiosk.probe()
    qtbot.waitUntil(lambda: not kiosk.errands.probing, timeout=WAIT_MS)
    [seen] = core_kiosks.kiosks(core.db)
    assert seen.printer.startswith("stopped: receipts")  # the heartbeat tells operators

    kiosk.corner.set_hold_ms(10)
    qtbot.mousePress(kiosk.corner, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.screen_name == "pin", timeout=WAIT_MS)
    qtbot.mouseRelease(kiosk.corner, Qt.MouseButton.LeftButton)
    key_in(qtbot, kiosk, "246813")
    tap(qtbot, kiosk, "key-next")
    qtbot.waitUntil(lambda: not kiosk.errands.probing and not kiosk.errands.asking_printer,
                    timeout=WAIT_MS)
    assert "stopped: receipts" in label(kiosk, "printer")  # and the maintenance screen


def test_a_hung_printer_does_not_freeze_the_screen(qtbot, kiosk, transaction):
    import threading

    release, threads = threading.Event(), []
    paint = kiosk.printer._print

    def hung(receipt):
        threads.append(threading.current_thread())
        release.wait(timeout=20)  # CUPS not answering
        return paint(receipt)

    kiosk.printer._print = hung
    inquire(qtbot, kiosk, NUMBER, f.NATIONAL_ID)
    tap(qtbot, kiosk, "print")
    try:
        qtbot.waitUntil(lambda: bool(threads), timeout=WAIT_MS)
        assert threads[0] is not threading.main_thread()
        assert kiosk.screen_name == "receipt" and not kiosk.flow.state.printed
        tap(qtbot, kiosk, "language")  # the screen still answers taps
        assert label(kiosk, "receipt_message") == texts("en")["waiting"]
    finally:
        release.set()
    qtbot.waitUntil(lambda: kiosk.flow.state.printed, timeout=WAIT_MS)
    assert label(kiosk, "receipt_message") == texts("en")["printing_saved"]


def enter_maintenance(qtbot, window) -> None:
    window.corner.set_hold_ms(10)
    qtbot.mousePress(window.corner, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.screen_name == "pin", timeout=WAIT_MS)
    qtbot.mouseRelease(window.corner, Qt.MouseButton.LeftButton)
    key_in(qtbot, window, "246813")
    tap(qtbot, window, "key-next")
    assert window.screen_name == "maintenance"


def test_a_hung_cups_state_query_stops_no_heartbeat_nor_the_offline_retry(qtbot, kiosk,
                                                                          gateway, core):
    import threading

    release, asked = threading.Event(), []

    def hung() -> str:
        asked.append(threading.current_thread().name)
        release.wait(timeout=30)  # CUPS not answering
        return "ready: receipts"

    kiosk.printer._state = hung
    [before] = core_kiosks.kiosks(core.db)
    try:
        kiosk.probe()
        qtbot.waitUntil(lambda: bool(asked) and not kiosk.errands.probing, timeout=WAIT_MS)
        assert asked[0].startswith("kiosk-print")  # asked on the printing thread
        [seen] = core_kiosks.kiosks(core.db)
        assert seen.last_seen_at > before.last_seen_at  # the heartbeat went on without it

        gateway.stop()
        kiosk.probe()
        qtbot.waitUntil(lambda: kiosk.screen_name == "offline", timeout=WAIT_MS)
        gateway.start()
        tap(qtbot, kiosk, "retry_now")  # a kiosk that went offline comes back
        qtbot.waitUntil(lambda: kiosk.screen_name == "home", timeout=WAIT_MS)
        assert kiosk.gateway_reachable
        assert asked == [asked[0]]  # one query waits on CUPS, not one a heartbeat
        # ...and none queued behind it either (a receipt would wait behind each).
        assert kiosk.errands.printing._work_queue.qsize() == 0
    finally:
        release.set()


def test_a_failing_printer_state_query_is_a_printer_problem_not_offline(qtbot, kiosk, core):
    def broken() -> str:
        raise RuntimeError("cups: server-error-internal-error")

    kiosk.printer._state = broken
    kiosk.probe()
    qtbot.waitUntil(lambda: not kiosk.errands.probing, timeout=WAIT_MS)
    assert kiosk.screen_name == "home" and kiosk.gateway_reachable  # never "offline"
    qtbot.waitUntil(lambda: kiosk.printer.last_state.startswith("error:"), timeout=WAIT_MS)
    kiosk.probe()
    qtbot.waitUntil(lambda: not kiosk.errands.probing, timeout=WAIT_MS)
    [seen] = core_kiosks.kiosks(core.db)
    assert seen.printer.startswith("error:") and "server-error" in seen.printer
    enter_maintenance(qtbot, kiosk)
    qtbot.waitUntil(lambda: "server-error" in label(kiosk, "printer"), timeout=WAIT_MS)
    assert label(kiosk, "gateway_state") == texts("ar")["gateway_reachable"]


def test_a_receipt_queued_then_wiped_is_never_printed(qtbot, kiosk, transaction):
    import threading

    busy, release, printed = threading.Event(), threading.Event(), []
    state, paint = kiosk.printer._state, kiosk.printer._print

    def hung_state() -> str:
        busy.set()
        release.wait(timeout=30)  # CUPS holds the printing thread
        return state()

    def recorded(receipt):
        printed.append(receipt.lang)
        return paint(receipt)

    kiosk.printer._print = recorded
    tap(qtbot, kiosk, "language")  # citizen A reads English
    inquire(qtbot, kiosk, NUMBER, f.NATIONAL_ID)
    kiosk.printer._state = hung_state
    try:
        kiosk.probe()
        qtbot.waitUntil(busy.is_set, timeout=WAIT_MS)
        tap(qtbot, kiosk, "print")  # A's receipt waits its turn...
        assert kiosk.screen_name == "receipt"
        tap(qtbot, kiosk, "receipt_done")  # ...and A leaves
        inquire(qtbot, kiosk, NUMBER, f.NATIONAL_ID)  # citizen B, in Arabic
        tap(qtbot, kiosk, "print")
    finally:
        release.set()
    qtbot.waitUntil(lambda: kiosk.flow.state.printed, timeout=WAIT_MS)
    qtbot.wait(200)  # anything else the printing thread had to say is said
    assert printed == ["ar"]  # B's receipt only; A's was dropped, never printed
    assert len(list(kiosk.printer.pdf_dir.glob("receipt-*.pdf"))) == 1


def test_a_hung_receipt_that_ends_after_the_wipe_is_not_told_to_the_next_citizen(
        qtbot, kiosk, transaction):
    import threading

    release = {"en": threading.Event(), "ar": threading.Event()}
    started = []
    paint = kiosk.printer._print

    def hung(receipt):
        started.append(receipt.lang)
        release[receipt.lang].wait(timeout=30)  # CUPS not answering
        return paint(receipt)

    kiosk.printer._print = hung
    tap(qtbot, kiosk, "language")  # citizen A reads English
    inquire(qtbot, kiosk, NUMBER, f.NATIONAL_ID)
    tap(qtbot, kiosk, "print")
    try:
        qtbot.waitUntil(lambda: started == ["en"], timeout=WAIT_MS)
        for _ in range(kiosk.flow.idle_seconds + STILL_THERE_SECONDS):
            kiosk.tick()  # A walked away: the idle wipe
        assert kiosk.screen_name == "home"
        inquire(qtbot, kiosk, NUMBER, f.NATIONAL_ID)  # citizen B, in Arabic
        tap(qtbot, kiosk, "print")
        release["en"].set()  # A's job ends while B waits for theirs
        qtbot.waitUntil(lambda: started == ["en", "ar"], timeout=WAIT_MS)
        qtbot.wait(200)  # A's outcome, sent before B's job began, is delivered
        assert kiosk.screen_name == "receipt" and not kiosk.flow.state.printed
        assert label(kiosk, "receipt_message") == texts("ar")["waiting"]
        assert list(kiosk.printer.pdf_dir.glob("receipt-*.pdf")) == []  # A's PDF is gone
    finally:
        for event in release.values():
            event.set()
    qtbot.waitUntil(lambda: kiosk.flow.state.printed, timeout=WAIT_MS)
    assert label(kiosk, "receipt_message") == texts("ar")["printing_saved"]
