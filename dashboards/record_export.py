"""The daily temperature record as CSV, as a printable PDF (fpdf2) and as an e-mail body.

CSV follows what Swedish Excel opens without a wizard: semicolons, decimal commas, UTF-8 with
a byte-order mark. The PDF is A4 landscape with Swedish headings and an empty signature column,
like the paper form it replaces; it uses DejaVu Sans (Debian ``fonts-dejavu-core``) when
present and falls back to fpdf2's core Helvetica, whose latin-1 covers å ä ö and °.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.fonts import FontFace

from core.csv_safe import Cell, write_csv
from dashboards.daily_record import DayRecord, DeviceRecord, SiteRecord

__all__ = [
    "HEADINGS",
    "NO_DATA_SV",
    "above_sv",
    "num_sv",
    "record_csv",
    "record_pdf",
    "record_text",
]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
MONTHS = (
    *("januari", "februari", "mars", "april", "maj", "juni"),
    *("juli", "augusti", "september", "oktober", "november", "december"),
)
TYPE_NAMES = {"freezer": "Frys", "fridge": "Kyl"}
HEADINGS = (
    "Datum",
    "Timmar",
    "Enhet",
    "Typ",
    "Plats",
    "Gräns (°C)",
    "Antal mätvärden",
    "Min (°C)",
    "Max (°C)",
    "Medel (°C)",
    "Tid över gräns (min)",
    "Dörr öppen (min)",
    "Larm",
    "Kvitterat av",
)


NO_DATA_SV = "ingen data"


def num_sv(v: float | None, digits: int = 1) -> str:
    return "" if v is None else f"{v:.{digits}f}".replace(".", ",").replace("-", "−")


def above_sv(minutes: float | None) -> str:
    """Time above the limit as the record shows it: "ingen data" for a day nobody measured,
    "<1" for a short excursion that would otherwise round to a "0" beside the warning mark."""
    if minutes is None:
        return NO_DATA_SV
    if 0 < minutes < 0.5:
        return "<1"
    return num_sv(minutes, 0)


def _csv_num(v: float | None, digits: int = 1) -> str:
    return "" if v is None else f"{v:.{digits}f}".replace(".", ",")


def _hours(h: float) -> str:
    return f"{h:g}".replace(".", ",")


def _alerts(day: DayRecord) -> tuple[str, str]:
    what, who = [], []
    for a in day.alerts:
        at = a.started_at.astimezone(STOCKHOLM).strftime("%H:%M")
        sev = {"warning": "varning", "critical": "kritiskt"}.get(a.severity, a.severity)
        what.append(f"#{a.id} {sev} {at}")
        if a.acknowledged_by:
            ack_at = (
                a.acknowledged_at.astimezone(STOCKHOLM).strftime("%H:%M")
                if a.acknowledged_at
                else ""
            )
            who.append(f"{a.acknowledged_by} {ack_at}".strip())
        else:
            who.append("ej kvitterat")
    return ", ".join(what), ", ".join(who)


def month_title(month: str) -> str:
    year, m = month.split("-")
    return f"{MONTHS[int(m) - 1]} {year}"


def record_csv(record: SiteRecord) -> bytes:
    """Mailed every morning and opened in a spreadsheet: every cell through ``write_csv``,
    so a device named ``=...`` is shown, not run."""
    return ("\ufeff" + write_csv(_record_rows(record), delimiter=";")).encode("utf-8")


def _record_rows(record: SiteRecord) -> Iterator[list[Cell]]:
    yield list(HEADINGS)
    for dev in record.devices:
        for day in dev.days:
            what, who = _alerts(day)
            yield (
                [
                    day.day.isoformat(),
                    _hours(day.hours),
                    dev.name,
                    TYPE_NAMES.get(dev.type, dev.type),
                    dev.place or "",
                    _csv_num(dev.limit),
                    day.readings,
                    _csv_num(day.min),
                    _csv_num(day.max),
                    _csv_num(day.mean),
                    _csv_num(day.above_limit_min, 0),
                    _csv_num(day.door_open_min, 0),
                    what,
                    who,
                ]
            )


def _device_title(dev: DeviceRecord) -> str:
    place = f", {dev.place}" if dev.place else ""
    kind = TYPE_NAMES.get(dev.type, dev.type)
    return f"{kind}: {dev.name}{place} (gräns {num_sv(dev.limit)} °C)"


class _Pdf(FPDF):
    title_text = ""
    core_font = False

    def header(self) -> None:
        self.set_font(self.font_name, "B", 13)
        self.cell(0, 8, self.clean(self.title_text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.font_name, "", 8)
        self.cell(0, 6, f"kommunvakt · sida {self.page_no()}/{{nb}}", align="R")

    @property
    def font_name(self) -> str:
        return "Helvetica" if self.core_font else "DejaVu"

    def clean(self, text: str) -> str:
        if not self.core_font:
            return text
        # latin-1 has å ä ö and °, but not the typographic minus or dashes
        text = text.replace("−", "-").replace("–", "-").replace("·", "-")
        return text.encode("latin-1", "replace").decode("latin-1")


def record_pdf(record: SiteRecord, font_dir: Path = DEJAVU) -> bytes:
    pdf = _Pdf(orientation="L", unit="mm", format="A4")
    regular, bold = font_dir / "DejaVuSans.ttf", font_dir / "DejaVuSans-Bold.ttf"
    if regular.exists() and bold.exists():
        pdf.add_font("DejaVu", "", str(regular))
        pdf.add_font("DejaVu", "B", str(bold))
    else:
        pdf.core_font = True
    pdf.title_text = (
        f"Temperaturlogg (egenkontroll) – {record.site_name} – {month_title(record.month)}"
    )
    pdf.set_title(pdf.clean(pdf.title_text))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    created = record.generated_at.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
    pdf.set_font(pdf.font_name, "", 8)
    pdf.multi_cell(
        0,
        4,
        pdf.clean(
            f"Skapad {created}. Dygn enligt svensk tid (vid sommartidens slut 25 timmar, vid "
            "dess början 23). Tid över gräns och dörr öppen räknas från sensorns mätvärden; "
            "när sensorn var tyst räknas ingenting, och ett dygn utan mätvärden står som "
            '"ingen data". "<1 !": över gränsen kortare än en minut.'
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    cols = (
        "Datum",
        "Tim",
        "Antal",
        "Min °C",
        "Max °C",
        "Medel °C",
        "Över gräns min",
        "Dörr öppen min",
        "Larm",
        "Kvitterat av",
        "Signatur",
    )
    widths = (22, 10, 13, 17, 17, 18, 22, 22, 50, 50, 36)
    if not record.devices:
        pdf.set_font(pdf.font_name, "", 11)
        pdf.cell(0, 10, pdf.clean("Inga frysar eller kylar på platsen."))
    for dev in record.devices:
        pdf.ln(3)
        pdf.set_font(pdf.font_name, "B", 11)
        pdf.cell(0, 7, pdf.clean(_device_title(dev)), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(pdf.font_name, "", 8)
        with pdf.table(
            col_widths=widths,
            text_align="LEFT",
            line_height=4.5,
            headings_style=FontFace(emphasis="BOLD", fill_color=(225, 230, 236)),
        ) as table:
            head = table.row()
            for c in cols:
                head.cell(pdf.clean(c))
            for day in dev.days:
                what, who = _alerts(day)
                over = day.above_limit_min is not None and day.above_limit_min > 0
                row = table.row()
                for text in (
                    day.day.isoformat(),
                    _hours(day.hours),
                    str(day.readings),
                    num_sv(day.min),
                    num_sv(day.max),
                    num_sv(day.mean),
                    above_sv(day.above_limit_min) + (" !" if over else ""),
                    num_sv(day.door_open_min, 0),
                    what,
                    who,
                    "",
                ):
                    row.cell(pdf.clean(text))
    return bytes(pdf.output())


def record_text(record: SiteRecord, day_filter: str | None = None) -> str:
    """A plain-text summary for e-mail: one line per device (and day, or the given day)."""
    lines = [f"Temperaturlogg {record.site_name}, {month_title(record.month)}"]
    for dev in record.devices:
        lines.append("")
        lines.append(_device_title(dev))
        for day in dev.days:
            if day_filter is not None and day.day.isoformat() != day_filter:
                continue
            what, who = _alerts(day)
            if day.above_limit_min is None:
                text = f"  {day.day.isoformat()}: {NO_DATA_SV}"
            else:
                text = (
                    f"  {day.day.isoformat()}: min {num_sv(day.min)}, max {num_sv(day.max)}, "
                    f"medel {num_sv(day.mean)} °C; över gräns {above_sv(day.above_limit_min)} min"
                )
            if day.door_open_min is not None:
                text += f"; dörr öppen {num_sv(day.door_open_min, 0)} min"
            if what:
                text += f"; larm {what} (kvitterat av: {who})"
            lines.append(text)
    return "\n".join(lines) + "\n"
