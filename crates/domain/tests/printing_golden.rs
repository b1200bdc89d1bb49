//! Golden files for printed documents: fixed inputs rendered for 80 mm and 58 mm paper, as
//! text and as ESC/POS, compared byte for byte with `tests/golden/`.
//!
//! After an intended layout change, regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p pos-domain --test printing_golden`, then read the diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use pos_domain::approval::Actor;
use pos_domain::ids::{ModifierId, PaymentId, ProductId, StaffId, TableId};
use pos_domain::money::{Currency, Money};
use pos_domain::order::{DiscountChange, ItemModifier, NewOrder, NewOrderItem, Order, OrderType};
use pos_domain::payment::PaymentMethod;
use pos_domain::permissions::Role;
use pos_domain::printing::{
    CashTender, FiscalData, MethodTotal, Paper, ReceiptData, ReceiptLine, ShiftReportData, ShiftReportKind,
    TaxLine, TicketData, TicketLine, render_receipt_escpos, render_receipt_text, render_shift_report_escpos,
    render_shift_report_text, render_ticket_escpos, render_ticket_text,
};
use pos_domain::receipts::{
    ReceiptContext, ReceiptFacts, ReceiptPayment, ReceiptRecord, receipt_data, receipt_print_job,
};
use pos_domain::settings::Settings;
use pos_domain::staff::Station;
use pos_domain::totals::{Discount, Pricing};
use pos_domain::validate::{Label, Quantity};

const CAFE: &str = "Cafe Havilah & Pizzeria";
const PAPERS: [(Paper, &str); 2] = [(Paper::Mm80, "80mm"), (Paper::Mm58, "58mm")];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("golden")
}

fn at(hour: u32, minute: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 3, 14)
        .and_then(|d| d.and_hms_opt(hour, minute, 0))
        .unwrap()
}

fn ugx(amount: i64) -> Money {
    Money::new(amount, Currency::Ugx)
}

fn kes(cents: i64) -> Money {
    Money::new(cents, Currency::Kes)
}

fn line(quantity: u16, name: &str, modifiers: &[&str], notes: Option<&str>) -> TicketLine {
    TicketLine {
        quantity,
        name: name.into(),
        modifiers: modifiers.iter().map(|m| (*m).to_owned()).collect(),
        notes: notes.map(str::to_owned),
        seat: None,
        course: None,
    }
}

/// Dine-in order #17 at table T4: the kitchen part.
fn kitchen_ticket() -> TicketData {
    TicketData {
        cafe_name: CAFE.into(),
        station: Station::Kitchen,
        order_number: 17,
        order_type: "Dine-in".into(),
        table: Some("T4".into()),
        staff_name: "Grace Nakato".into(),
        sent_at: at(12, 34),
        items: vec![
            TicketLine {
                seat: Some(1),
                course: Some(2),
                ..line(
                    2,
                    "Chicken Curry",
                    &["Extra rice", "Mild"],
                    Some("No coriander – allergy"),
                )
            },
            TicketLine {
                course: Some(2),
                ..line(
                    1,
                    "Margherita Pizza (Large)",
                    &["Extra cheese", "Thin crust"],
                    None,
                )
            },
            TicketLine {
                seat: Some(3),
                ..line(
                    1,
                    "Rolex – Chapati Rolled with Eggs, Cabbage & Tomatoes",
                    &[],
                    Some("Cut in half, serve with the curry please"),
                )
            },
        ],
        preparation_notes: Some("Birthday table: bring all mains together, candle on the pizza".into()),
        reprint: false,
    }
}

/// The same order's bar part, printed a second time.
fn bar_ticket() -> TicketData {
    TicketData {
        station: Station::Bar,
        items: vec![
            line(2, "Mocktail – Virgin Mojito", &["Less ice"], None),
            line(1, "Café Latte", &["Oat milk", "Extra shot"], Some("Very hot")),
        ],
        preparation_notes: None,
        reprint: true,
        ..kitchen_ticket()
    }
}

/// Order #17 paid in cash and MTN MoMo, UGX (no minor unit), VAT included.
fn ugx_receipt() -> ReceiptData {
    ReceiptData {
        cafe_name: CAFE.into(),
        header_lines: vec![
            "Plot 12 Kampala Road, Kampala".into(),
            "Tel +256 772 000 111".into(),
        ],
        order_number: 17,
        table: Some("T4".into()),
        staff_name: "Grace Nakato".into(),
        printed_at: at(13, 52),
        lines: vec![
            ReceiptLine {
                quantity: 2,
                name: "Chicken Curry".into(),
                modifiers: vec![("Extra rice".into(), ugx(2_000)), ("Mild".into(), ugx(0))],
                line_total: ugx(64_000),
            },
            ReceiptLine {
                quantity: 1,
                name: "Margherita Pizza (Large)".into(),
                modifiers: vec![("Extra cheese".into(), ugx(5_000))],
                line_total: ugx(50_000),
            },
            ReceiptLine {
                quantity: 1,
                name: "Rolex – Chapati Rolled with Eggs, Cabbage & Tomatoes".into(),
                modifiers: vec![],
                line_total: ugx(12_000),
            },
            ReceiptLine {
                quantity: 2,
                name: "Mocktail – Virgin Mojito".into(),
                modifiers: vec![],
                line_total: ugx(30_000),
            },
            ReceiptLine {
                quantity: 1,
                name: "Café Latte".into(),
                modifiers: vec![("Oat milk".into(), ugx(2_000)), ("Extra shot".into(), ugx(3_000))],
                line_total: ugx(15_000),
            },
        ],
        subtotal: ugx(171_000),
        discount: ugx(6_000),
        service_charge: ugx(0),
        // 165,000 × 16/116 = 22,758.6 → 22,759.
        tax: Some(TaxLine {
            rate_bp: 1600,
            amount: ugx(22_759),
            inclusive: true,
        }),
        total: ugx(165_000),
        payments: vec![("Cash".into(), ugx(100_000)), ("MTN MoMo".into(), ugx(65_000))],
        cash: Some(CashTender {
            tendered: ugx(120_000),
            change: ugx(20_000),
        }),
        balance: ugx(0),
        footer: "Thank you for visiting!\nFollow us @cafehavilah".into(),
        copy: false,
        open_cash_drawer: true,
        receipt_number: None,
        tip: None,
        fiscal: None,
    }
}

/// A takeaway in KES (two decimals), VAT added on top of a service charge, paid by M-Pesa.
fn kes_receipt() -> ReceiptData {
    ReceiptData {
        cafe_name: CAFE.into(),
        header_lines: vec![
            "Moi Avenue, Nairobi".into(),
            "Tel +254 700 123 456".into(),
            "PIN P051234567X".into(),
        ],
        order_number: 5,
        table: None,
        staff_name: "Wanjiku Otieno".into(),
        printed_at: at(8, 15),
        lines: vec![
            ReceiptLine {
                quantity: 1,
                name: "Café Latte".into(),
                modifiers: vec![("Oat milk".into(), kes(5_000))],
                line_total: kes(40_000),
            },
            ReceiptLine {
                quantity: 3,
                name: "Samosa (Beef)".into(),
                modifiers: vec![],
                line_total: kes(24_000),
            },
            ReceiptLine {
                quantity: 2,
                name: "Mandazi".into(),
                modifiers: vec![],
                line_total: kes(5_100),
            },
        ],
        subtotal: kes(69_100),
        discount: kes(0),
        // 5 % of 691.00.
        service_charge: kes(3_455),
        // 16 % of 725.55 = 116.088 → 116.09.
        tax: Some(TaxLine {
            rate_bp: 1600,
            amount: kes(11_609),
            inclusive: false,
        }),
        total: kes(84_164),
        payments: vec![("M-Pesa".into(), kes(84_164))],
        cash: None,
        balance: kes(0),
        footer: "Asante sana! Karibu tena.".into(),
        copy: false,
        open_cash_drawer: false,
        receipt_number: None,
        tip: None,
        fiscal: None,
    }
}

/// The closed order's receipt reprinted: its gap-free number, a tip apart from the sale,
/// the copy mark and fiscal data.
fn numbered_receipt() -> ReceiptData {
    ReceiptData {
        receipt_number: Some(1042),
        tip: Some(ugx(5_000)),
        copy: true,
        // A reprint never opens the drawer.
        open_cash_drawer: false,
        fiscal: Some(FiscalData {
            document_number: Some("FDN 0042-118877".into()),
            verification_code: Some("7H3K-99QA".into()),
            qr_payload: Some("https://efris.ura.go.ug/v/7H3K99QA".into()),
        }),
        ..ugx_receipt()
    }
}

/// The receipt of an order closed through the domain (`receipt_data`, as the closing unit
/// queues it): an item with a modifier, an order discount of 10 % approved by a manager, a
/// 10 % service charge, VAT included, a card payment with a tip and the rest in cash with
/// change.
fn closed_order_receipt() -> ReceiptData {
    let (order, settings, payments, record) = closed_order();
    let context = ReceiptContext {
        staff_name: "Grace Nakato".into(),
        table: Some("T4".into()),
        printed_at: record.issued_at,
        copy: false,
    };
    receipt_data(&order, &settings, Some(&record), &payments, context).unwrap()
}

fn closed_order() -> (Order, Settings, Vec<ReceiptPayment>, ReceiptRecord) {
    let now = Utc.with_ymd_and_hms(2025, 3, 14, 9, 41, 0).single().unwrap();
    let mut settings = Settings::defaults(CAFE);
    settings.service_charge_bp = 1_000;
    settings.receipt_footer = "Asante sana!\nWi-Fi: havilah-guest".into();
    let mut order = Order::new(
        NewOrder {
            number: 23,
            business_date: now.date_naive(),
            order_type: OrderType::DineIn,
            table_id: Some(TableId::new()),
            staff_id: StaffId::new(),
            terminal_id: None,
            shift_id: None,
            preparation_notes: None,
            currency: Currency::Ugx,
            pricing: Pricing::from_settings(&settings),
        },
        now,
    )
    .unwrap();
    let item = |name: &str, price: i64, quantity: i64, modifiers: Vec<ItemModifier>| NewOrderItem {
        product_id: ProductId::new(),
        name: Label::parse(name).unwrap(),
        unit_price: ugx(price),
        quantity: Quantity::parse("quantity", quantity).unwrap(),
        modifiers,
        notes: None,
        station: None,
        seat: None,
        course: None,
    };
    let egg = ItemModifier {
        modifier_id: ModifierId::new(),
        name: Label::parse("Extra egg").unwrap(),
        price: ugx(1_000),
    };
    order.add_item(item("Rolex", 7_000, 2, vec![egg]), now).unwrap();
    order
        .add_item(item("African tea", 3_500, 1, vec![]), now)
        .unwrap();
    order.send(now).unwrap();
    let cashier = Actor::new(StaffId::new(), Role::Cashier);
    order
        .set_discount(
            DiscountChange {
                discount: Some(Discount::Percent { bp: 1_000 }),
                reason: None,
                actor: cashier,
                approval: None,
                cashier_limit_bp: settings.cashier_discount_limit_bp,
            },
            now,
        )
        .unwrap();
    let total = order.totals().unwrap().total;
    let card = ugx(10_000);
    let cash = total.checked_sub(card).unwrap();
    order.record_payment(total, now).unwrap();
    order.close(now).unwrap();
    let payments = vec![
        ReceiptPayment {
            id: PaymentId::new(),
            method: PaymentMethod::Card,
            amount: card,
            tendered: None,
            change: None,
            tip: ugx(2_000),
        },
        ReceiptPayment {
            id: PaymentId::new(),
            method: PaymentMethod::Cash,
            amount: cash,
            tendered: Some(ugx(20_000)),
            change: Some(ugx(20_000).checked_sub(cash).unwrap()),
            tip: ugx(0),
        },
    ];
    let record = ReceiptRecord {
        number: 7,
        issued_at: now,
        fiscal: None,
    };
    (order, settings, payments, record)
}

fn z_report() -> ShiftReportData {
    ShiftReportData {
        cafe_name: CAFE.into(),
        kind: ShiftReportKind::Z { number: 42 },
        staff_name: "Grace Nakato".into(),
        terminal: "POS 1 (front counter)".into(),
        opened_at: at(7, 0),
        closed_at: Some(at(15, 5)),
        printed_at: at(15, 6),
        sales_by_method: vec![
            MethodTotal {
                method: "Cash".into(),
                count: 23,
                amount: ugx(540_000),
            },
            MethodTotal {
                method: "MTN MoMo".into(),
                count: 12,
                amount: ugx(300_000),
            },
            MethodTotal {
                method: "Airtel Money".into(),
                count: 4,
                amount: ugx(96_000),
            },
            MethodTotal {
                method: "Card".into(),
                count: 3,
                amount: ugx(90_000),
            },
        ],
        total_sales: ugx(1_026_000),
        opening_float: ugx(100_000),
        cash_sales: ugx(540_000),
        cash_movements: vec![
            ("Paid in: change top-up".into(), ugx(50_000)),
            ("Paid out: gas refill".into(), ugx(-20_000)),
        ],
        expected_cash: ugx(670_000),
        counted_cash: Some(ugx(665_000)),
        variance: Some(ugx(-5_000)),
        counts: vec![
            ("Orders".into(), 38),
            ("Items sold".into(), 112),
            ("Voided items".into(), 2),
            ("Refunds".into(), 1),
        ],
    }
}

/// Every golden file: name and content.
fn rendered() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for (paper, width) in PAPERS {
        let tickets = [("kitchen", kitchen_ticket()), ("bar", bar_ticket())];
        for (name, ticket) in tickets {
            files.push((
                format!("{name}_{width}.txt"),
                render_ticket_text(&ticket, paper).into_bytes(),
            ));
            files.push((
                format!("{name}_{width}.escpos.bin"),
                render_ticket_escpos(&ticket, paper),
            ));
        }
        let receipts = [
            ("receipt_ugx", ugx_receipt()),
            ("receipt_kes", kes_receipt()),
            ("receipt_numbered", numbered_receipt()),
            ("receipt_closed", closed_order_receipt()),
        ];
        for (name, receipt) in receipts {
            files.push((
                format!("{name}_{width}.txt"),
                render_receipt_text(&receipt, paper).into_bytes(),
            ));
            files.push((
                format!("{name}_{width}.escpos.bin"),
                render_receipt_escpos(&receipt, paper),
            ));
        }
        let report = z_report();
        files.push((
            format!("z_report_{width}.txt"),
            render_shift_report_text(&report, paper).into_bytes(),
        ));
        files.push((
            format!("z_report_{width}.escpos.bin"),
            render_shift_report_escpos(&report, paper),
        ));
    }
    files
}

/// Where two texts first differ, by line, with both versions of that line.
fn describe_text_difference(expected: &[u8], actual: &[u8]) -> String {
    let expected = String::from_utf8_lossy(expected);
    let actual = String::from_utf8_lossy(actual);
    let (mut expected_lines, mut actual_lines) =
        (expected.split_inclusive('\n'), actual.split_inclusive('\n'));
    for number in 1.. {
        match (expected_lines.next(), actual_lines.next()) {
            (Some(e), Some(a)) if e == a => continue,
            (e, a) => {
                let show = |line: Option<&str>| line.map_or("(end of file)".to_owned(), |l| format!("{l:?}"));
                return format!(
                    "first difference at line {number}:\n  expected: {}\n  actual:   {}",
                    show(e),
                    show(a)
                );
            }
        }
    }
    unreachable!("texts differ, so some line does")
}

/// Where two byte strings first differ, with 8 bytes of hex context on each side.
fn describe_byte_difference(expected: &[u8], actual: &[u8]) -> String {
    let offset = expected
        .iter()
        .zip(actual)
        .position(|(e, a)| e != a)
        .unwrap_or_else(|| expected.len().min(actual.len()));
    let window = |bytes: &[u8]| {
        let start = offset.saturating_sub(8);
        let end = (offset + 8).min(bytes.len());
        bytes.get(start..end).map(hex_bytes).unwrap_or_default()
    };
    format!(
        "first difference at byte offset {offset} (0x{offset:x}); lengths {} vs {}\n  expected: {}\n  actual:   {}",
        expected.len(),
        actual.len(),
        window(expected),
        window(actual)
    )
}

fn hex_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Says which goldens were rewritten even when the test passes.
#[expect(
    clippy::explicit_write,
    reason = "the harness captures eprintln! of passing tests; a direct write to stderr is not captured"
)]
fn announce(message: &str) {
    writeln!(std::io::stderr(), "{message}").unwrap();
}

fn check_against_goldens(prefix: &str) {
    let dir = golden_dir();
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for (name, actual) in rendered()
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix))
    {
        let path = dir.join(&name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &actual).unwrap();
            announce(&format!("UPDATE_GOLDEN=1: wrote {}", path.display()));
            continue;
        }
        let Ok(expected) = std::fs::read(&path) else {
            failures.push(format!("{name}: golden file missing at {}", path.display()));
            continue;
        };
        if expected != actual {
            let detail = if name.ends_with(".txt") {
                describe_text_difference(&expected, &actual)
            } else {
                describe_byte_difference(&expected, &actual)
            };
            failures.push(format!("{name}: differs from {}\n{detail}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf the change is intended: UPDATE_GOLDEN=1 cargo test -p pos-domain --test printing_golden",
        failures.join("\n\n")
    );
}

#[test]
fn kitchen_ticket_matches_goldens() {
    check_against_goldens("kitchen_");
}

#[test]
fn bar_ticket_matches_goldens() {
    check_against_goldens("bar_");
}

#[test]
fn ugx_receipt_matches_goldens() {
    check_against_goldens("receipt_ugx_");
}

#[test]
fn kes_receipt_matches_goldens() {
    check_against_goldens("receipt_kes_");
}

#[test]
fn numbered_receipt_copy_with_tip_and_fiscal_data_matches_goldens() {
    check_against_goldens("receipt_numbered_");
}

#[test]
fn closed_order_receipt_with_discount_service_charge_tip_and_change_matches_goldens() {
    check_against_goldens("receipt_closed_");
}

/// The job the closing unit queues is the same receipt, byte for byte.
#[test]
fn the_print_job_queued_at_close_is_the_golden_receipt() {
    let (order, settings, payments, record) = closed_order();
    let facts = ReceiptFacts {
        settings,
        staff_name: "Grace Nakato".into(),
        table: Some("T4".into()),
        payments,
    };
    let job = receipt_print_job(&order, &facts, &[], &record, false).unwrap();
    assert_eq!(job.paper, Paper::Mm80);
    let golden = |name: &str| std::fs::read(golden_dir().join(name)).unwrap();
    assert_eq!(job.payload_text.as_bytes(), golden("receipt_closed_80mm.txt"));
    assert_eq!(job.payload_escpos, golden("receipt_closed_80mm.escpos.bin"));
}

#[test]
fn z_report_matches_goldens() {
    check_against_goldens("z_report_");
}

/// A golden no case produces any more would silently rot.
#[test]
fn every_golden_file_belongs_to_a_case() {
    let expected: Vec<String> = rendered().into_iter().map(|(name, _)| name).collect();
    assert_eq!(expected.len(), 28);
    let Ok(entries) = std::fs::read_dir(golden_dir()) else {
        assert!(std::env::var("UPDATE_GOLDEN").is_ok(), "tests/golden is missing");
        return;
    };
    for entry in entries {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(expected.contains(&name), "stale golden file {name}");
    }
}

#[test]
fn difference_reports_point_at_the_first_change() {
    let text = describe_text_difference(b"a\nb\nc\n", b"a\nB\nc\n");
    assert!(text.contains("line 2"), "{text}");
    assert!(text.contains(r#""b\n""#) && text.contains(r#""B\n""#), "{text}");
    let shorter = describe_text_difference(b"a\nb\n", b"a\n");
    assert!(
        shorter.contains("line 2") && shorter.contains("(end of file)"),
        "{shorter}"
    );
    let bytes = describe_byte_difference(&[0x1b, 0x40, 0x41], &[0x1b, 0x40, 0x42, 0x0a]);
    assert!(bytes.contains("offset 2"), "{bytes}");
    assert!(bytes.contains("lengths 3 vs 4"), "{bytes}");
    assert!(
        bytes.contains("1b 40 41") && bytes.contains("1b 40 42 0a"),
        "{bytes}"
    );
}
