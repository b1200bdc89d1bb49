//! What a send prints and emits: the ticket context read before the unit of work, and the
//! send transition with its events, print jobs and stock (also used to fire a held course).

use super::*;

/// Everything a send needs to print tickets, read before the unit of work.
pub(super) struct TicketContext {
    pub(super) settings: Settings,
    pub(super) table_codes: HashMap<TableId, String>,
    pub(super) staff_name: String,
    pub(super) config: OrderServiceConfig,
}

impl TicketContext {
    fn print_job(
        &self,
        order: &Order,
        station: Station,
        items: &[&OrderItem],
        now: DateTime<Utc>,
    ) -> NewPrintJob {
        let ticket = TicketData {
            cafe_name: self.settings.cafe_name.clone(),
            station,
            order_number: order.number,
            order_type: match order.order_type {
                OrderType::DineIn => "Dine-in".to_owned(),
                OrderType::Takeaway => "Takeaway".to_owned(),
            },
            table: order.table_id.and_then(|t| self.table_codes.get(&t).cloned()),
            staff_name: self.staff_name.clone(),
            sent_at: local_time(now, &self.settings),
            items: items
                .iter()
                .map(|i| TicketLine {
                    quantity: i.quantity.get(),
                    name: i.name.as_str().to_owned(),
                    modifiers: i.modifiers.iter().map(|m| m.name.as_str().to_owned()).collect(),
                    notes: i.notes.as_ref().map(|n| n.as_str().to_owned()),
                    seat: i.seat.map(|s| i32::from(s.get())),
                    course: i.course.map(|c| i32::from(c.get())),
                })
                .collect(),
            preparation_notes: order.preparation_notes.as_ref().map(|n| n.as_str().to_owned()),
            reprint: false,
        };
        let paper = self.config.ticket_paper;
        NewPrintJob {
            id: PrintJobId::new(),
            kind: PrintJobKind::ticket_for(station),
            printer: self.config.printer_for(station).to_owned(),
            order_id: Some(order.id),
            shift_id: None,
            paper,
            payload_text: render_ticket_text(&ticket, paper),
            payload_escpos: render_ticket_escpos(&ticket, paper),
        }
    }
}

/// The send transition with everything it emits: per station an `order.sent` event, a
/// ticket print job and its `print_job.queued` event; the stock of every sent item; then
/// `order.updated` (and `order.ready` when only station-less items went out).
/// A held course, once fired, goes out the same way.
pub(super) fn send_work(
    order: &mut Order,
    ctx: &TicketContext,
    now: DateTime<Utc>,
    transition: impl FnOnce(&mut Order) -> Result<SendOutcome, OrderError>,
) -> Result<WorkOutput, OrderError> {
    let was = order.status;
    let outcome = transition(order)?;
    let mut effects = Effects::default();
    let table_code = order
        .table_id
        .and_then(|t| ctx.table_codes.get(&t).map(String::as_str));
    for ticket in &outcome.tickets {
        let items = ticket
            .items
            .iter()
            .map(|id| order.item(*id))
            .collect::<Result<Vec<_>, _>>()?;
        effects.events.push(events::order_sent(
            order,
            ticket.station,
            &items,
            ticket.first_for_station,
            table_code,
            now,
        ));
        let job = ctx.print_job(order, ticket.station, &items, now);
        effects.events.push(events::print_job_queued(&job));
        effects.print_jobs.push(job);
    }
    let sent = outcome
        .sent_items()
        .into_iter()
        .map(|id| order.item(id))
        .collect::<Result<Vec<_>, _>>()?;
    effects.stock = stock_of(sent, -1);
    effects
        .events
        .push(events::order_updated(order, UpdateKind::Sent)?);
    announce_ready(was, order, &mut effects)?;
    Ok(WorkOutput {
        change: OrderChange::Sent(outcome),
        effects,
    })
}
