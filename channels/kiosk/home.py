"""The home screen's own widgets: the emirate's emblem and the two service tiles.

Drawn with QPainter, nothing loaded from files: the emblem is the portal's
(gateway/static/emblem.svg: a green square, an eight-pointed star of two gold squares,
a white seal with a tick), the tiles are large rounded panels with a drawn sign, a
title and a line under it, as public terminals show their services.
"""

from __future__ import annotations

from PyQt6.QtCore import QPointF, QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QFont, QPainter, QPainterPath, QPaintEvent, QPen
from PyQt6.QtWidgets import QPushButton, QSizePolicy, QWidget

GREEN, DARK_GREEN, GOLD = QColor("#0d5640"), QColor("#08402a"), QColor("#e9c46a")


class Emblem(QWidget):
    """The emirate's emblem, as big as the widget's shorter side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emblem")
        self.setAccessibleName("")  # decoration: the emirate's name is beside it
        self.setFixedSize(96, 96)

    def paintEvent(self, _event: QPaintEvent | None) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height())
        painter.scale(side / 48, side / 48)  # drawn on the SVG's 48 x 48 grid
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(GREEN)
        painter.drawRoundedRect(QRectF(0, 0, 48, 48), 12, 12)
        painter.setPen(QPen(GOLD, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        square = QRectF(13, 13, 22, 22)
        painter.drawRoundedRect(square, 2, 2)
        painter.save()
        painter.translate(24, 24)
        painter.rotate(45)
        painter.translate(-24, -24)
        painter.drawRoundedRect(square, 2, 2)
        painter.restore()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("white"))
        painter.drawEllipse(QPointF(24, 24), 5.5, 5.5)
        tick = QPainterPath(QPointF(21.6, 24.1))
        tick.lineTo(23.3, 25.8)
        tick.lineTo(26.5, 22.4)
        pen = QPen(GREEN, 1.8)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(tick)
        painter.end()


class Tile(QPushButton):
    """A service's tile: a drawn sign (``sign``: "status", "list", "idea" or "voice"), a
    title and a line
    under it; a button for screen readers and taps, painted by itself."""

    def __init__(self, name: str, sign: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.sign = sign
        self.title = ""
        self.line = ""
        self.contrast = False
        self.title_font = QFont()
        self.line_font = QFont()
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)

    def show_text(self, title: str, line: str = "") -> None:
        self.title, self.line = title, line
        self.setText(title)  # what tests and screen readers read
        self.setAccessibleName(title)
        self.setAccessibleDescription(line)
        self.update()

    def set_fonts(self, title: QFont, line: QFont, contrast: bool) -> None:
        self.title_font, self.line_font, self.contrast = title, line, contrast
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (the layout gives it the room there is)
        return QSize(160, 160)

    def paintEvent(self, _event: QPaintEvent | None) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pressed = self.isDown()
        if self.contrast:
            fill, ink, edge = (QColor("white") if pressed else QColor("#ffeb3b"),
                               QColor("black"), QColor("white"))
        else:
            fill = DARK_GREEN if pressed else GREEN
            ink, edge = QColor("white"), GOLD
        box = QRectF(self.rect()).adjusted(3, 3, -3, -3)
        painter.setPen(QPen(edge, 4))
        painter.setBrush(fill)
        painter.drawRoundedRect(box, 24, 24)
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
        wrap = int(flags) | int(Qt.TextFlag.TextWordWrap)
        width = box.width() - 32
        # The words first: the sign gets what height they leave (a short landscape tile
        # with large text keeps its words whole and draws a smaller sign).
        painter.setFont(self.title_font)
        title_h = painter.boundingRect(QRectF(0, 0, width, 10_000), wrap, self.title).height()
        painter.setFont(self.line_font)
        line_h = painter.boundingRect(QRectF(0, 0, width, 10_000), wrap, self.line).height()
        gap = box.height() * 0.06
        room = box.height() - title_h - line_h - 8 - 3 * gap
        sign_side = max(0.0, min(min(box.width(), box.height()) * 0.34, room))
        top = box.top() + max(gap, (room - sign_side) / 2 + gap)
        sign = QRectF(box.center().x() - sign_side / 2, top, sign_side, sign_side)
        if sign_side >= 24:
            self._sign(painter, sign, ink, edge)
        text = QRectF(box.left() + 16, sign.bottom() + gap, width, title_h)
        painter.setPen(ink)
        painter.setFont(self.title_font)
        painter.drawText(text, wrap, self.title)
        painter.setFont(self.line_font)
        painter.drawText(QRectF(text.left(), text.bottom() + 8, width, line_h), wrap,
                         self.line)
        painter.end()

    def _sign(self, painter: QPainter, box: QRectF, ink: QColor, accent: QColor) -> None:
        pen = QPen(ink, max(3.0, box.width() / 14))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        w, h, x, y = box.width(), box.height(), box.left(), box.top()
        if self.sign == "status":
            # A document with lines, and a magnifier over its corner.
            painter.drawRoundedRect(QRectF(x + w * 0.12, y, w * 0.56, h * 0.8), 6, 6)
            for row in (0.2, 0.35, 0.5):
                painter.drawLine(QPointF(x + w * 0.24, y + h * row),
                                 QPointF(x + w * 0.56, y + h * row))
            painter.setPen(QPen(accent, pen.widthF()))
            painter.drawEllipse(QPointF(x + w * 0.66, y + h * 0.66), w * 0.16, w * 0.16)
            painter.drawLine(QPointF(x + w * 0.78, y + h * 0.78),
                             QPointF(x + w * 0.95, y + h * 0.95))
        elif self.sign == "list":
            # A list of lines with a mark before each: all of one's transactions.
            for row in (0.15, 0.45, 0.75):
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(accent)
                painter.drawEllipse(QPointF(x + w * 0.12, y + h * row), w * 0.08, w * 0.08)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.setPen(pen)
                painter.drawLine(QPointF(x + w * 0.32, y + h * row),
                                 QPointF(x + w * 0.95, y + h * row))
        elif self.sign == "idea":
            # A light bulb: a suggestion.
            painter.drawEllipse(QPointF(x + w * 0.5, y + h * 0.38), w * 0.3, h * 0.3)
            for row in (0.78, 0.9):
                painter.drawLine(QPointF(x + w * 0.38, y + h * row),
                                 QPointF(x + w * 0.62, y + h * row))
            painter.setPen(QPen(accent, pen.widthF()))
            painter.drawLine(QPointF(x + w * 0.5, y + h * 0.5), QPointF(x + w * 0.5, y + h * 0.68))
        else:
            # A speech bubble with three dots: the citizen's voice.
            bubble = QPainterPath()
            bubble.addRoundedRect(QRectF(x, y + h * 0.05, w, h * 0.66), 14, 14)
            tail = QPainterPath(QPointF(x + w * 0.3, y + h * 0.7))
            tail.lineTo(x + w * 0.22, y + h * 0.95)
            tail.lineTo(x + w * 0.5, y + h * 0.7)
            painter.drawPath(bubble.united(tail))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(accent)
            for column in (0.3, 0.5, 0.7):
                painter.drawEllipse(QPointF(x + w * column, y + h * 0.38), w * 0.06, w * 0.06)
