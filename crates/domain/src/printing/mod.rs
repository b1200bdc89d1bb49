//! Printable documents: kitchen and bar tickets, customer receipts, X and Z shift reports.
//!
//! Pure rendering, no IO. A document is first laid out as lines that already fit the paper,
//! width counted in `char`s: a normal line holds at most [`Paper::columns`] characters and a
//! double-size line half of that, because each glyph is twice as wide. The same lines are
//! then emitted either as UTF-8 text (previews, the print-job API, tests) or as ESC/POS
//! bytes for thermal printers, so both outputs wrap identically.
//!
//! Inputs are plain structs filled by the caller ([`TicketData`], [`ReceiptData`],
//! [`ShiftReportData`]); amounts are [`Money`] formatted with integer maths, times are venue
//! local time printed as `dd/mm/yyyy HH:MM`.
//!
//! # Text hygiene
//!
//! Any control character or run of whitespace in an input becomes one space, and invisible
//! format characters (zero-width space, soft hyphen, bidi marks, BOM) are dropped, in both
//! outputs: a note can never break the layout or smuggle a printer command into the bytes.
//! Words longer than a line are broken hard.
//!
//! # ESC/POS character set
//!
//! Every ESC/POS document starts with `ESC @` and selects code page PC858 with `ESC t 19`
//! (Epson numbering; PC850 with `€` at 0xD5), which holds every Latin-1 letter (`é`, `ñ`,
//! `ü`, `£`, `°` …) and the euro sign, each printed as its code-page byte. Text is
//! transliterated to that set *before* layout, so widths stay exact: dashes and typographic
//! quotes become `-`, `'`, `"`; `…` becomes `...`, `™` `TM`, bullets `*`; Latin Extended-A
//! letters lose their mark (`ł` → `l`, `š` → `s`, `ő` → `o`), `œ`/`Œ` → `oe`/`OE`,
//! `ĳ`/`Ĳ` → `ij`/`IJ`; combining accents are dropped; anything else (emoji, CJK, Cyrillic)
//! prints as `?`. The UTF-8 text output keeps the original characters.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::staff::Station;
use crate::validate::ValidationError;

mod text;

use text::{clean, encode_pc858, has_text, transliterate_pc858, wrap};

/// Thermal paper width. Columns are those of the printer's standard font A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Paper {
    /// 80 mm roll: 48 columns.
    #[default]
    #[serde(rename = "80mm")]
    Mm80,
    /// 58 mm roll: 32 columns.
    #[serde(rename = "58mm")]
    Mm58,
}

impl Paper {
    pub const fn columns(self) -> usize {
        match self {
            Paper::Mm80 => 48,
            Paper::Mm58 => 32,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Paper::Mm80 => "80mm",
            Paper::Mm58 => "58mm",
        }
    }

    pub fn parse(raw: &str) -> Result<Paper, ValidationError> {
        match raw.trim() {
            "80mm" => Ok(Paper::Mm80),
            "58mm" => Ok(Paper::Mm58),
            _ => Err(ValidationError::new("paper", "must be 80mm or 58mm")),
        }
    }
}

/// What a kitchen or bar ticket shows: the items of one order routed to one station.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketData {
    pub cafe_name: String,
    pub station: Station,
    pub order_number: i32,
    /// How the order is served, as printed: `Dine-in`, `Takeaway`.
    pub order_type: String,
    pub table: Option<String>,
    pub staff_name: String,
    /// When the order was sent, venue local time.
    pub sent_at: NaiveDateTime,
    pub items: Vec<TicketLine>,
    pub preparation_notes: Option<String>,
    /// Printed again on request: the ticket says so, so the kitchen does not cook twice.
    pub reprint: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketLine {
    pub quantity: u16,
    pub name: String,
    pub modifiers: Vec<String>,
    pub notes: Option<String>,
    pub seat: Option<i32>,
    pub course: Option<i32>,
}

/// What a customer receipt (or, before any payment, a bill) shows. The caller computes
/// every amount; rendering never does arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptData {
    pub cafe_name: String,
    /// Address, phone, tax PIN…: one centred line each.
    pub header_lines: Vec<String>,
    pub order_number: i32,
    pub table: Option<String>,
    pub staff_name: String,
    /// Venue local time.
    pub printed_at: NaiveDateTime,
    pub lines: Vec<ReceiptLine>,
    pub subtotal: Money,
    /// Amount taken off, as a positive amount; not printed when zero.
    pub discount: Money,
    /// Not printed when zero.
    pub service_charge: Money,
    pub tax: Option<TaxLine>,
    pub total: Money,
    /// Payments applied to the order: method label as printed (`Cash`, `MTN MoMo`) and amount.
    pub payments: Vec<(String, Money)>,
    /// Cash handed over and change given back, when paid in cash.
    pub cash: Option<CashTender>,
    /// Still to pay; printed only when non-zero and some payment exists.
    pub balance: Money,
    /// Centred at the bottom; `\n` separates lines.
    pub footer: String,
    /// A duplicate: printed as such.
    pub copy: bool,
    /// ESC/POS only: pulse the cash drawer (`ESC p 0 25 250`) right after initialising, so the
    /// drawer opens while the receipt prints.
    pub open_cash_drawer: bool,
    /// The venue's gap-free receipt number, once the order closed (a bill has none).
    #[serde(default)]
    pub receipt_number: Option<i64>,
    /// Tips are not sales: printed apart, after the payments, when non-zero.
    #[serde(default)]
    pub tip: Option<Money>,
    /// What a fiscal device or tax authority returned for this receipt, when there is one.
    #[serde(default)]
    pub fiscal: Option<FiscalData>,
}

/// Fiscal data a tax authority's device or service gives a receipt (e.g. KRA eTIMS, URA
/// EFRIS): every part optional, printed as given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiscalData {
    pub document_number: Option<String>,
    pub verification_code: Option<String>,
    /// What the authority's QR code encodes (a verification URL), printed as text.
    pub qr_payload: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptLine {
    pub quantity: u16,
    pub name: String,
    /// Modifier name and its unit price (zero prices are not shown).
    pub modifiers: Vec<(String, Money)>,
    /// Quantity × (unit price + modifiers), as charged.
    pub line_total: Money,
}

/// The VAT line: `VAT 16% (incl.)` when prices include it, `VAT 16%` when it is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    /// Basis points: 1600 = 16 %.
    pub rate_bp: i32,
    pub amount: Money,
    pub inclusive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashTender {
    pub tendered: Money,
    pub change: Money,
}

/// X report: a mid-shift read that closes nothing. Z report: the numbered close of a shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShiftReportKind {
    X,
    Z { number: i32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftReportData {
    pub cafe_name: String,
    pub kind: ShiftReportKind,
    pub staff_name: String,
    /// Terminal name or code, as printed.
    pub terminal: String,
    pub opened_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    pub printed_at: NaiveDateTime,
    pub sales_by_method: Vec<MethodTotal>,
    pub total_sales: Money,
    pub opening_float: Money,
    pub cash_sales: Money,
    /// Paid in (positive) and paid out (negative), labelled as printed.
    pub cash_movements: Vec<(String, Money)>,
    pub expected_cash: Money,
    /// Counted at close; `None` on an X report.
    pub counted_cash: Option<Money>,
    /// Counted − expected; `None` on an X report.
    pub variance: Option<Money>,
    /// Labelled tallies: orders, voided items, refunds…
    pub counts: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodTotal {
    pub method: String,
    pub count: u32,
    pub amount: Money,
}

/// Kitchen or bar ticket as UTF-8 text, one `\n`-terminated line per printed line.
pub fn render_ticket_text(ticket: &TicketData, paper: Paper) -> String {
    ticket_layout(ticket, paper, Charset::Unicode).to_text()
}

/// Kitchen or bar ticket as ESC/POS bytes, ending with a feed and a partial cut.
pub fn render_ticket_escpos(ticket: &TicketData, paper: Paper) -> Vec<u8> {
    ticket_layout(ticket, paper, Charset::Pc858).to_escpos(false)
}

/// Receipt (or bill) as UTF-8 text.
pub fn render_receipt_text(receipt: &ReceiptData, paper: Paper) -> String {
    receipt_layout(receipt, paper, Charset::Unicode).to_text()
}

/// Receipt (or bill) as ESC/POS bytes; pulses the cash drawer when `open_cash_drawer` is set.
pub fn render_receipt_escpos(receipt: &ReceiptData, paper: Paper) -> Vec<u8> {
    receipt_layout(receipt, paper, Charset::Pc858).to_escpos(receipt.open_cash_drawer)
}

/// X or Z shift report as UTF-8 text.
pub fn render_shift_report_text(report: &ShiftReportData, paper: Paper) -> String {
    shift_report_layout(report, paper, Charset::Unicode).to_text()
}

/// X or Z shift report as ESC/POS bytes.
pub fn render_shift_report_escpos(report: &ShiftReportData, paper: Paper) -> Vec<u8> {
    shift_report_layout(report, paper, Charset::Pc858).to_escpos(false)
}

// ---------------------------------------------------------------------------------------
// Documents

const TIME_FORMAT: &str = "%d/%m/%Y %H:%M";
/// Indent of everything printed under an item: seat/course, modifiers, notes.
const SUB_INDENT: &str = "    ";
const MODIFIER_PREFIX: &str = "    + ";
const NOTE_PREFIX: &str = "    ! ";

fn ticket_layout(ticket: &TicketData, paper: Paper, charset: Charset) -> Layout {
    let mut doc = Layout::new(paper, charset);
    doc.paragraph(&ticket.cafe_name, Align::Centre, PLAIN);
    let heading = match ticket.station {
        Station::Kitchen => "KITCHEN",
        Station::Bar => "BAR",
    };
    doc.paragraph(heading, Align::Centre, BOLD);
    if ticket.reprint {
        doc.paragraph("*** REPRINT ***", Align::Centre, BOLD);
    }
    doc.paragraph(
        &format!("ORDER #{}", ticket.order_number),
        Align::Centre,
        HEADLINE,
    );
    match &ticket.table {
        Some(table) => doc.two_columns("", &ticket.order_type, &format!("Table {table}"), BOLD),
        None => doc.paragraph(&ticket.order_type, Align::Left, BOLD),
    }
    doc.hanging("Time:  ", &ticket.sent_at.format(TIME_FORMAT).to_string(), PLAIN);
    doc.hanging("Staff: ", &ticket.staff_name, PLAIN);
    doc.rule('-');
    for item in &ticket.items {
        doc.hanging(&quantity_prefix(item.quantity), &item.name, BOLD);
        if let Some(placement) = seat_and_course(item.seat, item.course) {
            doc.hanging(SUB_INDENT, &placement, PLAIN);
        }
        for modifier in item.modifiers.iter().filter(|m| has_text(m)) {
            doc.hanging(MODIFIER_PREFIX, modifier, PLAIN);
        }
        if let Some(notes) = item.notes.as_deref().filter(|n| has_text(n)) {
            doc.hanging(NOTE_PREFIX, notes, PLAIN);
        }
    }
    doc.rule('-');
    if let Some(notes) = ticket.preparation_notes.as_deref().filter(|n| has_text(n)) {
        doc.hanging("NOTE: ", notes, BOLD);
        doc.rule('-');
    }
    doc
}

fn receipt_layout(receipt: &ReceiptData, paper: Paper, charset: Charset) -> Layout {
    let mut doc = Layout::new(paper, charset);
    doc.paragraph(&receipt.cafe_name, Align::Centre, BOLD);
    for line in receipt.header_lines.iter().filter(|l| has_text(l)) {
        doc.paragraph(line, Align::Centre, PLAIN);
    }
    // No payment yet means the customer asked for the bill.
    let title = if receipt.payments.is_empty() {
        "BILL"
    } else {
        "RECEIPT"
    };
    doc.paragraph(title, Align::Centre, BOLD);
    if receipt.copy {
        doc.paragraph("*** COPY ***", Align::Centre, BOLD);
    }
    if let Some(number) = receipt.receipt_number {
        doc.paragraph(&format!("Receipt No. {number}"), Align::Left, PLAIN);
    }
    let order = format!("Order #{}", receipt.order_number);
    match &receipt.table {
        Some(table) => doc.two_columns("", &order, &format!("Table {table}"), PLAIN),
        None => doc.paragraph(&order, Align::Left, PLAIN),
    }
    doc.hanging(
        "Date:  ",
        &receipt.printed_at.format(TIME_FORMAT).to_string(),
        PLAIN,
    );
    doc.hanging("Staff: ", &receipt.staff_name, PLAIN);
    doc.rule('-');
    for line in &receipt.lines {
        doc.two_columns(
            &quantity_prefix(line.quantity),
            &line.name,
            &line.line_total.format_amount(),
            PLAIN,
        );
        for (name, price) in receipt_modifiers(&line.modifiers) {
            let label = if price.is_zero() {
                name.to_owned()
            } else {
                format!("{name} ({})", signed_amount(price))
            };
            doc.hanging(MODIFIER_PREFIX, &label, PLAIN);
        }
    }
    doc.rule('-');
    doc.two_columns("", "Subtotal", &receipt.subtotal.format_amount(), PLAIN);
    if !receipt.discount.is_zero() {
        doc.two_columns("", "Discount", &deduction(receipt.discount), PLAIN);
    }
    if !receipt.service_charge.is_zero() {
        doc.two_columns(
            "",
            "Service charge",
            &receipt.service_charge.format_amount(),
            PLAIN,
        );
    }
    if let Some(tax) = &receipt.tax {
        let suffix = if tax.inclusive { " (incl.)" } else { "" };
        let label = format!("VAT {}{suffix}", percent_from_bp(tax.rate_bp));
        doc.two_columns("", &label, &tax.amount.format_amount(), PLAIN);
    }
    doc.rule('=');
    doc.two_columns("", "TOTAL", &receipt.total.format_receipt(), BOLD);
    doc.rule('=');
    let paid_anything = !receipt.payments.is_empty();
    for (method, amount) in &receipt.payments {
        doc.two_columns("", method, &amount.format_amount(), PLAIN);
    }
    if let Some(cash) = &receipt.cash {
        doc.two_columns("", "Cash tendered", &cash.tendered.format_amount(), PLAIN);
        doc.two_columns("", "Change", &cash.change.format_amount(), BOLD);
    }
    if paid_anything && !receipt.balance.is_zero() {
        doc.two_columns("", "BALANCE DUE", &receipt.balance.format_receipt(), BOLD);
    }
    if let Some(tip) = receipt.tip.filter(|tip| !tip.is_zero()) {
        doc.two_columns("", "Tip (thank you)", &tip.format_amount(), PLAIN);
    }
    if let Some(fiscal) = &receipt.fiscal {
        doc.rule('-');
        if let Some(number) = fiscal.document_number.as_deref().filter(|t| has_text(t)) {
            doc.hanging("Fiscal doc: ", number, PLAIN);
        }
        if let Some(code) = fiscal.verification_code.as_deref().filter(|t| has_text(t)) {
            doc.hanging("Verify: ", code, PLAIN);
        }
        if let Some(qr) = fiscal.qr_payload.as_deref().filter(|t| has_text(t)) {
            doc.paragraph(qr, Align::Centre, PLAIN);
        }
    }
    if has_text(&receipt.footer) {
        if paid_anything || receipt.cash.is_some() {
            doc.rule('-');
        }
        for line in receipt.footer.trim().split('\n') {
            if has_text(line) {
                doc.paragraph(line, Align::Centre, PLAIN);
            } else {
                doc.blank();
            }
        }
    }
    doc
}

fn shift_report_layout(report: &ShiftReportData, paper: Paper, charset: Charset) -> Layout {
    let mut doc = Layout::new(paper, charset);
    doc.paragraph(&report.cafe_name, Align::Centre, PLAIN);
    let title = match report.kind {
        ShiftReportKind::X => "X REPORT".to_owned(),
        ShiftReportKind::Z { number } => format!("Z REPORT #{number}"),
    };
    doc.paragraph(&title, Align::Centre, HEADLINE);
    doc.hanging("Staff:    ", &report.staff_name, PLAIN);
    doc.hanging("Terminal: ", &report.terminal, PLAIN);
    doc.hanging(
        "Opened:   ",
        &report.opened_at.format(TIME_FORMAT).to_string(),
        PLAIN,
    );
    if let Some(closed_at) = report.closed_at {
        doc.hanging("Closed:   ", &closed_at.format(TIME_FORMAT).to_string(), PLAIN);
    }
    doc.hanging(
        "Printed:  ",
        &report.printed_at.format(TIME_FORMAT).to_string(),
        PLAIN,
    );
    doc.rule('-');
    doc.paragraph("SALES BY METHOD", Align::Left, BOLD);
    for method in &report.sales_by_method {
        let label = format!("{} ({})", method.method, method.count);
        doc.two_columns("", &label, &method.amount.format_amount(), PLAIN);
    }
    doc.two_columns("", "Total sales", &report.total_sales.format_receipt(), BOLD);
    doc.rule('-');
    doc.paragraph("CASH DRAWER", Align::Left, BOLD);
    doc.two_columns("", "Opening float", &report.opening_float.format_amount(), PLAIN);
    doc.two_columns("", "Cash sales", &report.cash_sales.format_amount(), PLAIN);
    for (label, amount) in &report.cash_movements {
        doc.two_columns("", label, &signed_amount(*amount), PLAIN);
    }
    doc.two_columns("", "Expected", &report.expected_cash.format_amount(), BOLD);
    if let Some(counted) = report.counted_cash {
        doc.two_columns("", "Counted", &counted.format_amount(), PLAIN);
    }
    if let Some(variance) = report.variance {
        doc.two_columns("", "Variance", &signed_amount(variance), BOLD);
    }
    if !report.counts.is_empty() {
        doc.rule('-');
        for (label, value) in &report.counts {
            doc.two_columns("", label, &value.to_string(), PLAIN);
        }
    }
    doc.rule('-');
    doc
}

fn quantity_prefix(quantity: u16) -> String {
    format!("{quantity} x ")
}

fn seat_and_course(seat: Option<i32>, course: Option<i32>) -> Option<String> {
    match (seat, course) {
        (Some(seat), Some(course)) => Some(format!("Seat {seat}, Course {course}")),
        (Some(seat), None) => Some(format!("Seat {seat}")),
        (None, Some(course)) => Some(format!("Course {course}")),
        (None, None) => None,
    }
}

fn receipt_modifiers(modifiers: &[(String, Money)]) -> impl Iterator<Item = (&str, Money)> {
    modifiers
        .iter()
        .filter(|(name, _)| has_text(name))
        .map(|(name, price)| (name.as_str(), *price))
}

/// `+2,000` for a positive amount, `-2,000` for a negative one, `0` for zero.
fn signed_amount(amount: Money) -> String {
    if amount.is_negative() || amount.is_zero() {
        amount.format_amount()
    } else {
        format!("+{}", amount.format_amount())
    }
}

/// A deduction given as a positive amount prints with a minus sign.
fn deduction(amount: Money) -> String {
    let formatted = amount.format_amount();
    match formatted.strip_prefix('-') {
        Some(magnitude) => format!("+{magnitude}"),
        None => format!("-{formatted}"),
    }
}

/// Basis points as a percentage without trailing zeros: 1600 → `16%`, 1650 → `16.5%`,
/// 1625 → `16.25%`.
fn percent_from_bp(bp: i32) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    let magnitude = bp.unsigned_abs();
    let (whole, hundredths) = (magnitude / 100, magnitude % 100);
    if hundredths == 0 {
        format!("{sign}{whole}%")
    } else if hundredths % 10 == 0 {
        format!("{sign}{whole}.{}%", hundredths / 10)
    } else {
        format!("{sign}{whole}.{hundredths:02}%")
    }
}

// ---------------------------------------------------------------------------------------
// Layout

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Centre,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Style {
    bold: bool,
    /// Double width and height: half as many columns fit.
    double: bool,
}

const PLAIN: Style = Style {
    bold: false,
    double: false,
};
const BOLD: Style = Style {
    bold: true,
    double: false,
};
const HEADLINE: Style = Style {
    bold: true,
    double: true,
};

/// Labels get at least this many columns beside an amount; below that the amount moves to
/// its own line instead of squeezing the label into a sliver.
const MIN_LABEL_COLUMNS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    /// Fits its style's width; alignment padding is added on output.
    text: String,
    align: Align,
    style: Style,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    Unicode,
    Pc858,
}

struct Layout {
    width: usize,
    charset: Charset,
    lines: Vec<Line>,
}

impl Layout {
    fn new(paper: Paper, charset: Charset) -> Layout {
        Layout {
            width: paper.columns(),
            charset,
            lines: Vec::new(),
        }
    }

    /// Input text as it will print: cleaned, and for ESC/POS limited to the code page.
    fn prepare(&self, raw: &str) -> String {
        let cleaned = clean(raw);
        match self.charset {
            Charset::Unicode => cleaned,
            Charset::Pc858 => transliterate_pc858(&cleaned),
        }
    }

    fn columns_for(&self, style: Style) -> usize {
        if style.double { self.width / 2 } else { self.width }
    }

    fn push(&mut self, text: String, align: Align, style: Style) {
        self.lines.push(Line { text, align, style });
    }

    fn blank(&mut self) {
        self.push(String::new(), Align::Left, PLAIN);
    }

    fn rule(&mut self, ch: char) {
        self.push(ch.to_string().repeat(self.width), Align::Left, PLAIN);
    }

    /// Wrapped text, every line aligned the same way.
    fn paragraph(&mut self, raw: &str, align: Align, style: Style) {
        let width = self.columns_for(style);
        for line in wrap(&self.prepare(raw), width, width) {
            self.push(line, align, style);
        }
    }

    /// `prefix` then wrapped text; continuation lines are indented to the end of the prefix.
    /// The prefix is built by this module (ASCII, shorter than any paper).
    fn hanging(&mut self, prefix: &str, raw: &str, style: Style) {
        let width = self.columns_for(style);
        let indent = prefix.chars().count();
        debug_assert!(indent < width, "prefix {prefix:?} leaves no room on the line");
        let lines = wrap(
            &self.prepare(raw),
            width.saturating_sub(indent),
            width.saturating_sub(indent),
        );
        if lines.is_empty() {
            self.push(prefix.trim_end().to_owned(), Align::Left, style);
        }
        for (index, line) in lines.into_iter().enumerate() {
            let lead = if index == 0 {
                prefix.to_owned()
            } else {
                " ".repeat(indent)
            };
            self.push(format!("{lead}{line}"), Align::Left, style);
        }
    }

    /// A label (after `prefix`, wrapped with a hanging indent) on the left and a value
    /// right-aligned on the label's first line. A value too wide to share a line goes on
    /// its own right-aligned line under the label.
    fn two_columns(&mut self, prefix: &str, raw_label: &str, raw_value: &str, style: Style) {
        let width = self.columns_for(style);
        let value = self.prepare(raw_value);
        let value_len = value.chars().count();
        let indent = prefix.chars().count();
        let label_columns = width.saturating_sub(value_len + 1);
        if label_columns < indent + MIN_LABEL_COLUMNS {
            self.hanging(prefix, raw_label, style);
            for part in wrap(&value, width, width) {
                self.push(part, Align::Right, style);
            }
            return;
        }
        let label_width = label_columns - indent;
        let mut lines = wrap(&self.prepare(raw_label), label_width, label_width).into_iter();
        let first = format!("{prefix}{}", lines.next().unwrap_or_default());
        let gap = width - first.chars().count() - value_len;
        self.push(format!("{first}{}{value}", " ".repeat(gap)), Align::Left, style);
        for line in lines {
            self.push(format!("{}{line}", " ".repeat(indent)), Align::Left, style);
        }
    }

    fn to_text(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            let len = line.text.chars().count();
            let pad = match line.align {
                Align::Left => 0,
                Align::Centre => self.width.saturating_sub(len) / 2,
                Align::Right => self.width.saturating_sub(len),
            };
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&line.text);
            out.push('\n');
        }
        out
    }

    /// The printer aligns centred and right-aligned lines itself (`ESC a`), so they are sent
    /// unpadded; modes are only sent when they change.
    fn to_escpos(&self, open_cash_drawer: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.lines.len() * (self.width + 4) + 32);
        out.extend_from_slice(&escpos::INIT);
        out.extend_from_slice(&escpos::SELECT_PC858);
        if open_cash_drawer {
            out.extend_from_slice(&escpos::DRAWER_PULSE);
        }
        let mut align = Align::Left;
        let mut style = PLAIN;
        for line in &self.lines {
            escpos::switch(&mut out, (align, style), (line.align, line.style));
            (align, style) = (line.align, line.style);
            out.extend(line.text.chars().map(encode_pc858));
            out.push(escpos::LF);
        }
        // Leave the printer in its default modes for whatever it prints next.
        escpos::switch(&mut out, (align, style), (Align::Left, PLAIN));
        out.extend_from_slice(&escpos::FEED_BEFORE_CUT);
        out.extend_from_slice(&escpos::PARTIAL_CUT);
        out
    }
}

mod escpos {
    use super::{Align, Style};

    const ESC: u8 = 0x1B;
    const GS: u8 = 0x1D;
    pub(super) const LF: u8 = 0x0A;
    /// `ESC @`: reset to power-on modes.
    pub(super) const INIT: [u8; 2] = [ESC, b'@'];
    /// `ESC t 19`: character code table PC858 (Epson numbering).
    pub(super) const SELECT_PC858: [u8; 3] = [ESC, b't', 19];
    /// `ESC p 0 25 250`: pulse drawer pin 2, 50 ms on, 500 ms off.
    pub(super) const DRAWER_PULSE: [u8; 5] = [ESC, b'p', 0, 25, 250];
    /// `ESC d 4`: print and feed four lines so the last line clears the cutter.
    pub(super) const FEED_BEFORE_CUT: [u8; 3] = [ESC, b'd', 4];
    /// `GS V 66 0`: feed to the cutting position and cut partially.
    pub(super) const PARTIAL_CUT: [u8; 4] = [GS, b'V', 66, 0];

    /// Emits `ESC a`, `ESC E`, `GS !` for whatever differs between two modes.
    pub(super) fn switch(out: &mut Vec<u8>, from: (Align, Style), to: (Align, Style)) {
        if from.0 != to.0 {
            let n = match to.0 {
                Align::Left => 0,
                Align::Centre => 1,
                Align::Right => 2,
            };
            out.extend_from_slice(&[ESC, b'a', n]);
        }
        if from.1.bold != to.1.bold {
            out.extend_from_slice(&[ESC, b'E', u8::from(to.1.bold)]);
        }
        if from.1.double != to.1.double {
            let size = if to.1.double { 0x11 } else { 0x00 };
            out.extend_from_slice(&[GS, b'!', size]);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn at(hour: u32, minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2025, 3, 14)
            .and_then(|d| d.and_hms_opt(hour, minute, 0))
            .unwrap()
    }

    fn ugx(amount: i64) -> Money {
        Money::new(amount, Currency::Ugx)
    }

    fn ticket() -> TicketData {
        TicketData {
            cafe_name: "Café Havilah".into(),
            station: Station::Kitchen,
            order_number: 17,
            order_type: "Dine-in".into(),
            table: Some("T4".into()),
            staff_name: "Grace".into(),
            sent_at: at(12, 34),
            items: vec![TicketLine {
                quantity: 2,
                name: "Chicken Curry".into(),
                modifiers: vec!["Extra rice".into()],
                notes: Some("No coriander".into()),
                seat: Some(1),
                course: None,
            }],
            preparation_notes: None,
            reprint: false,
        }
    }

    fn receipt() -> ReceiptData {
        ReceiptData {
            cafe_name: "Café Havilah".into(),
            header_lines: vec![],
            order_number: 17,
            table: None,
            staff_name: "Grace".into(),
            printed_at: at(13, 5),
            lines: vec![ReceiptLine {
                quantity: 2,
                name: "Chicken Curry".into(),
                modifiers: vec![("Extra rice".into(), ugx(2_000))],
                line_total: ugx(64_000),
            }],
            subtotal: ugx(64_000),
            discount: ugx(0),
            service_charge: ugx(0),
            tax: Some(TaxLine {
                rate_bp: 1600,
                amount: ugx(8_828),
                inclusive: true,
            }),
            total: ugx(64_000),
            payments: vec![("Cash".into(), ugx(64_000))],
            cash: Some(CashTender {
                tendered: ugx(70_000),
                change: ugx(6_000),
            }),
            balance: ugx(0),
            footer: "Thank you!".into(),
            copy: false,
            open_cash_drawer: false,
            receipt_number: None,
            tip: None,
            fiscal: None,
        }
    }

    /// A printed line as the printer would produce it, decoded from ESC/POS.
    #[derive(Debug, PartialEq, Eq)]
    struct Printed {
        bytes: Vec<u8>,
        align: u8,
        bold: bool,
        double: bool,
    }

    /// Commands other than modes, in order.
    #[derive(Debug, PartialEq, Eq)]
    enum Command {
        Init,
        CodeTable(u8),
        Drawer(u8, u8, u8),
        Feed(u8),
        Cut(u8, u8),
    }

    /// A strict interpreter of the ESC/POS subset this module emits: any other control
    /// byte fails the test, so text can never carry a command.
    fn interpret(bytes: &[u8]) -> (Vec<Command>, Vec<Printed>) {
        let (mut commands, mut printed) = (Vec::new(), Vec::new());
        let (mut align, mut bold, mut double) = (0, false, false);
        let mut text = Vec::new();
        let mut i = 0;
        let arg = |i: usize| *bytes.get(i).expect("command argument missing");
        while i < bytes.len() {
            match bytes[i] {
                0x1B => {
                    match arg(i + 1) {
                        b'@' => {
                            commands.push(Command::Init);
                            (align, bold, double) = (0, false, false);
                            i += 2;
                            continue;
                        }
                        b't' => commands.push(Command::CodeTable(arg(i + 2))),
                        b'a' => align = arg(i + 2),
                        b'E' => bold = arg(i + 2) == 1,
                        b'd' => commands.push(Command::Feed(arg(i + 2))),
                        b'p' => {
                            commands.push(Command::Drawer(arg(i + 2), arg(i + 3), arg(i + 4)));
                            i += 5;
                            continue;
                        }
                        other => panic!("unexpected ESC {other:#04x} at {i}"),
                    }
                    i += 3;
                }
                0x1D => match arg(i + 1) {
                    b'!' => {
                        double = arg(i + 2) == 0x11;
                        i += 3;
                    }
                    b'V' => {
                        commands.push(Command::Cut(arg(i + 2), arg(i + 3)));
                        i += 4;
                    }
                    other => panic!("unexpected GS {other:#04x} at {i}"),
                },
                0x0A => {
                    printed.push(Printed {
                        bytes: std::mem::take(&mut text),
                        align,
                        bold,
                        double,
                    });
                    i += 1;
                }
                byte if byte < 0x20 || byte == 0x7F => panic!("control byte {byte:#04x} in text at {i}"),
                byte => {
                    text.push(byte);
                    i += 1;
                }
            }
        }
        assert!(text.is_empty(), "text after the last line feed");
        (commands, printed)
    }

    #[test]
    fn wrap_fills_lines_greedily_and_hard_breaks_long_words() {
        assert_eq!(wrap("one two three four", 9, 9), ["one two", "three", "four"]);
        assert_eq!(wrap("abcdefghij", 4, 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("ab cdefghij", 4, 4), ["ab", "cdef", "ghij"]);
        assert_eq!(wrap("", 4, 4), Vec::<String>::new());
        assert_eq!(wrap("first line then", 5, 10), ["first", "line then"]);
        // A line of exactly the width is allowed.
        assert_eq!(wrap("abc de", 6, 6), ["abc de"]);
    }

    #[test]
    fn wrap_counts_chars_not_bytes() {
        assert_eq!(wrap("Café Café", 9, 9), ["Café Café"]);
        assert_eq!(wrap("ééééé", 2, 2), ["éé", "éé", "é"]);
    }

    #[test]
    fn clean_collapses_controls_and_drops_invisible_characters() {
        assert_eq!(clean("  a\tb\r\n\u{1b}@c  "), "a b @c");
        assert_eq!(clean("zero\u{200B}width\u{FEFF}"), "zerowidth");
        assert_eq!(clean("\u{1}\u{2}"), "");
        assert!(!has_text(" \u{7}\n"));
    }

    #[test]
    fn percent_labels_have_no_trailing_zeros() {
        assert_eq!(percent_from_bp(1600), "16%");
        assert_eq!(percent_from_bp(1650), "16.5%");
        assert_eq!(percent_from_bp(1625), "16.25%");
        assert_eq!(percent_from_bp(5), "0.05%");
        assert_eq!(percent_from_bp(0), "0%");
    }

    #[test]
    fn signed_and_deducted_amounts_show_their_direction() {
        assert_eq!(signed_amount(ugx(2_000)), "+2,000");
        assert_eq!(signed_amount(ugx(-2_000)), "-2,000");
        assert_eq!(signed_amount(ugx(0)), "0");
        assert_eq!(deduction(ugx(4_000)), "-4,000");
        assert_eq!(deduction(ugx(-4_000)), "+4,000");
    }

    #[test]
    fn paper_parses_its_own_names() {
        for paper in [Paper::Mm80, Paper::Mm58] {
            assert_eq!(Paper::parse(paper.as_str()), Ok(paper));
        }
        assert_eq!(Paper::parse("80mm").map(Paper::columns), Ok(48));
        assert_eq!(Paper::parse("58mm").map(Paper::columns), Ok(32));
        assert_eq!(Paper::parse("110mm").unwrap_err().field, "paper");
    }

    #[test]
    fn ticket_text_on_58mm_is_laid_out_line_by_line() {
        let mut data = ticket();
        data.items[0].name = "Chicken Curry with Chapati and Kachumbari".into();
        data.preparation_notes = Some("Birthday: bring mains together".into());
        let text = render_ticket_text(&data, Paper::Mm58);
        let expected = [
            "          Café Havilah",
            "            KITCHEN",
            "           ORDER #17",
            "Dine-in                 Table T4",
            "Time:  14/03/2025 12:34",
            "Staff: Grace",
            "--------------------------------",
            "2 x Chicken Curry with Chapati",
            "    and Kachumbari",
            "    Seat 1",
            "    + Extra rice",
            "    ! No coriander",
            "--------------------------------",
            "NOTE: Birthday: bring mains",
            "      together",
            "--------------------------------",
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn reprint_and_bar_tickets_say_so() {
        let mut data = ticket();
        data.station = Station::Bar;
        data.reprint = true;
        data.table = None;
        data.order_type = "Takeaway".into();
        let text = render_ticket_text(&data, Paper::Mm80);
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(&lines[1..5], ["BAR", "*** REPRINT ***", "ORDER #17", "Takeaway"]);
    }

    #[test]
    fn receipt_amounts_end_exactly_at_the_right_edge() {
        for paper in [Paper::Mm80, Paper::Mm58] {
            let text = render_receipt_text(&receipt(), paper);
            let width = paper.columns();
            let amount_line = |label: &str| {
                text.lines()
                    .find(|l| l.starts_with(label))
                    .unwrap_or_else(|| panic!("no {label} line in\n{text}"))
                    .to_owned()
            };
            for (label, amount) in [
                ("2 x Chicken Curry", "64,000"),
                ("Subtotal", "64,000"),
                ("VAT 16% (incl.)", "8,828"),
                ("TOTAL", "USh 64,000"),
                ("Cash tendered", "70,000"),
                ("Change", "6,000"),
            ] {
                let line = amount_line(label);
                assert_eq!(line.chars().count(), width, "{line:?}");
                assert!(line.ends_with(amount), "{line:?}");
            }
            assert!(text.contains("\n    + Extra rice (+2,000)\n"));
            assert!(text.contains("RECEIPT"));
            assert!(!text.contains("BALANCE DUE"));
            assert!(!text.contains("Discount"));
        }
    }

    #[test]
    fn long_receipt_names_wrap_beside_the_amount() {
        let mut data = receipt();
        data.lines[0].name = "Rolex with double eggs, cabbage, tomatoes and a little chilli".into();
        let text = render_receipt_text(&data, Paper::Mm58);
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.iter().position(|l| l.starts_with("2 x Rolex")).unwrap();
        // Label column is 32 - 6 ("64,000") - 1 = 25 wide; continuation indented under the name.
        assert_eq!(lines[start], "2 x Rolex with double     64,000");
        assert_eq!(lines[start + 1], "    eggs, cabbage,");
        assert_eq!(lines[start + 2], "    tomatoes and a little");
        assert_eq!(lines[start + 3], "    chilli");
    }

    #[test]
    fn a_value_too_wide_to_share_the_line_moves_below_its_label() {
        let mut doc = Layout::new(Paper::Mm58, Charset::Unicode);
        let huge = Money::new(i64::MIN, Currency::Kes).format_receipt();
        doc.two_columns("", "TOTAL", &huge, PLAIN);
        assert_eq!(doc.lines.len(), 2);
        assert_eq!(doc.lines[0].text, "TOTAL");
        assert_eq!(doc.lines[1].align, Align::Right);
        assert_eq!(doc.lines[1].text, huge);
        let text = doc.to_text();
        assert!(text.lines().all(|l| l.chars().count() <= 32), "{text}");
        assert_eq!(text.lines().nth(1).map(|l| l.chars().count()), Some(32));
    }

    #[test]
    fn bills_partial_payments_copies_and_discounts_are_labelled() {
        let mut bill = receipt();
        bill.payments.clear();
        bill.cash = None;
        bill.balance = bill.total;
        bill.discount = ugx(1_000);
        bill.service_charge = ugx(3_200);
        bill.copy = true;
        let text = render_receipt_text(&bill, Paper::Mm80);
        let trimmed: Vec<&str> = text.lines().map(str::trim).collect();
        assert!(trimmed.contains(&"BILL"));
        assert!(trimmed.contains(&"*** COPY ***"));
        assert!(!text.contains("BALANCE DUE"), "a bill's total is what is due");
        assert!(
            text.lines()
                .any(|l| l.starts_with("Discount") && l.ends_with(" -1,000"))
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("Service charge") && l.ends_with(" 3,200"))
        );

        let mut partial = receipt();
        partial.payments = vec![("MTN MoMo".into(), ugx(40_000))];
        partial.cash = None;
        partial.balance = ugx(24_000);
        let text = render_receipt_text(&partial, Paper::Mm80);
        assert!(
            text.lines()
                .any(|l| l.starts_with("BALANCE DUE") && l.ends_with("USh 24,000"))
        );
    }

    #[test]
    fn escpos_frames_the_document_and_styles_the_order_number() {
        let bytes = render_ticket_escpos(&ticket(), Paper::Mm80);
        assert!(bytes.starts_with(&[0x1B, 0x40, 0x1B, 0x74, 19]));
        assert!(bytes.ends_with(&[0x1B, 0x64, 4, 0x1D, 0x56, 66, 0]));
        let (commands, printed) = interpret(&bytes);
        assert_eq!(
            commands,
            [
                Command::Init,
                Command::CodeTable(19),
                Command::Feed(4),
                Command::Cut(66, 0)
            ]
        );
        let station = printed.iter().find(|p| p.bytes == b"KITCHEN").unwrap();
        assert!(station.bold && !station.double);
        assert_eq!(station.align, 1);
        let number = printed.iter().find(|p| p.bytes == b"ORDER #17").unwrap();
        assert!(number.bold && number.double);
        assert_eq!(number.align, 1);
        // The printer centres; the bytes carry no padding.
        assert_eq!(printed[0].bytes, b"Caf\x82 Havilah");
        let item = printed.iter().find(|p| p.bytes.starts_with(b"2 x ")).unwrap();
        assert_eq!((item.align, item.bold, item.double), (0, true, false));
        // The exact mode switch for the double-size line.
        let order_at = bytes.windows(9).position(|w| w == b"ORDER #17").unwrap();
        assert_eq!(&bytes[order_at - 3..order_at], &[0x1D, 0x21, 0x11]);
    }

    #[test]
    fn receipt_pulses_the_drawer_only_when_asked() {
        let drawer = [0x1B, 0x70, 0x00, 0x19, 0xFA];
        let mut data = receipt();
        let closed = render_receipt_escpos(&data, Paper::Mm58);
        assert!(!closed.windows(5).any(|w| w == drawer));
        data.open_cash_drawer = true;
        let opened = render_receipt_escpos(&data, Paper::Mm58);
        assert_eq!(&opened[5..10], &drawer);
        assert_eq!(opened.windows(5).filter(|w| *w == drawer).count(), 1);
        let (commands, _) = interpret(&opened);
        assert!(commands.contains(&Command::Drawer(0, 25, 250)));
        // The text output is the same either way.
        assert_eq!(
            render_receipt_text(&data, Paper::Mm58),
            render_receipt_text(&receipt(), Paper::Mm58)
        );
    }

    #[test]
    fn pc858_keeps_latin1_and_transliterates_the_rest_one_way() {
        assert_eq!(transliterate_pc858("Café – “Mojito” …"), "Café - \"Mojito\" ...");
        assert_eq!(transliterate_pc858("Łódź Œuvre ĳs ő"), "Lódz OEuvre ijs o");
        assert_eq!(transliterate_pc858("e\u{301}t\u{301}e"), "ete");
        assert_eq!(transliterate_pc858("Чай 🍵 茶"), "??? ? ?");
        let encoded: Vec<u8> = "Café £5 €3 ñ°".chars().map(encode_pc858).collect();
        assert_eq!(encoded, b"Caf\x82 \x9c5 \xd53 \xa4\xf8");
        assert_eq!(encode_pc858('\u{1b}'), b'?');
        assert_eq!(encode_pc858('\u{7f}'), b'?');
    }

    #[test]
    fn notes_cannot_inject_printer_commands() {
        let mut data = ticket();
        data.items[0].notes = Some("open \u{1b}p\u{0}\u{19}\u{fa} cut \u{1d}V\u{42}\u{0} now".into());
        let bytes = render_ticket_escpos(&data, Paper::Mm80);
        let (commands, printed) = interpret(&bytes);
        assert_eq!(commands.len(), 4, "{commands:?}");
        let note = printed.iter().find(|p| p.bytes.starts_with(b"    ! ")).unwrap();
        // Controls became spaces (runs collapsed); `\u{fa}` is `ú`, byte 0xA3 in PC858.
        assert_eq!(note.bytes, b"    ! open p \xa3 cut VB now");
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::collection::vec(any::<char>(), 0..120).prop_map(String::from_iter),
            "[a-zA-Zéü–— ]{0,100}",
            "[A-Za-z0-9]{30,90}",
        ]
    }

    fn money_strategy() -> impl Strategy<Value = Money> {
        (any::<i64>(), proptest::sample::select(Currency::ALL.to_vec())).prop_map(|(m, c)| Money::new(m, c))
    }

    fn assert_fits(text: &str, bytes: &[u8], paper: Paper) {
        let width = paper.columns();
        for line in text.lines() {
            assert!(line.chars().count() <= width, "{line:?} is wider than {width}");
            assert!(!line.chars().any(char::is_control), "{line:?} has a control char");
        }
        let (_, printed) = interpret(bytes);
        for line in printed {
            let limit = if line.double { width / 2 } else { width };
            assert!(
                line.bytes.len() <= limit,
                "{:?} is wider than {limit}",
                line.bytes
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn tickets_never_overflow_the_paper(
            cafe in text_strategy(),
            name in text_strategy(),
            notes in text_strategy(),
            modifier in text_strategy(),
            table in text_strategy(),
            prep in text_strategy(),
            quantity in any::<u16>(),
            order_number in any::<i32>(),
            seat in any::<Option<i32>>(),
            course in any::<Option<i32>>(),
        ) {
            let data = TicketData {
                cafe_name: cafe,
                station: Station::Bar,
                order_number,
                order_type: table.clone(),
                table: Some(table),
                staff_name: name.clone(),
                sent_at: at(9, 0),
                items: vec![TicketLine { quantity, name, modifiers: vec![modifier], notes: Some(notes), seat, course }],
                preparation_notes: Some(prep),
                reprint: true,
            };
            for paper in [Paper::Mm80, Paper::Mm58] {
                assert_fits(&render_ticket_text(&data, paper), &render_ticket_escpos(&data, paper), paper);
            }
        }

        #[test]
        fn receipts_never_overflow_the_paper(
            name in text_strategy(),
            modifier in text_strategy(),
            header in text_strategy(),
            footer in text_strategy(),
            method in text_strategy(),
            quantity in any::<u16>(),
            amounts in proptest::collection::vec(money_strategy(), 9),
            rate_bp in any::<i32>(),
        ) {
            let data = ReceiptData {
                cafe_name: header.clone(),
                header_lines: vec![header.clone(), footer.clone()],
                order_number: -1,
                table: Some(header),
                staff_name: name.clone(),
                printed_at: at(21, 59),
                lines: vec![ReceiptLine { quantity, name, modifiers: vec![(modifier, amounts[0])], line_total: amounts[1] }],
                subtotal: amounts[2],
                discount: amounts[3],
                service_charge: amounts[4],
                tax: Some(TaxLine { rate_bp, amount: amounts[5], inclusive: rate_bp % 2 == 0 }),
                total: amounts[6],
                payments: vec![(method, amounts[7])],
                cash: Some(CashTender { tendered: amounts[8], change: amounts[0] }),
                balance: amounts[1],
                footer,
                copy: true,
                open_cash_drawer: true,
                receipt_number: None,
                tip: None,
                fiscal: None,
            };
            for paper in [Paper::Mm80, Paper::Mm58] {
                assert_fits(&render_receipt_text(&data, paper), &render_receipt_escpos(&data, paper), paper);
            }
        }

        #[test]
        fn shift_reports_never_overflow_the_paper(
            staff in text_strategy(),
            label in text_strategy(),
            amounts in proptest::collection::vec(money_strategy(), 7),
            count in any::<i64>(),
            number in any::<i32>(),
        ) {
            let data = ShiftReportData {
                cafe_name: staff.clone(),
                kind: ShiftReportKind::Z { number },
                staff_name: staff.clone(),
                terminal: label.clone(),
                opened_at: at(7, 0),
                closed_at: Some(at(15, 0)),
                printed_at: at(15, 1),
                sales_by_method: vec![MethodTotal { method: label.clone(), count: u32::MAX, amount: amounts[0] }],
                total_sales: amounts[1],
                opening_float: amounts[2],
                cash_sales: amounts[3],
                cash_movements: vec![(label.clone(), amounts[4])],
                expected_cash: amounts[5],
                counted_cash: Some(amounts[6]),
                variance: Some(amounts[0]),
                counts: vec![(label, count)],
            };
            for paper in [Paper::Mm80, Paper::Mm58] {
                assert_fits(&render_shift_report_text(&data, paper), &render_shift_report_escpos(&data, paper), paper);
            }
        }
    }
}
