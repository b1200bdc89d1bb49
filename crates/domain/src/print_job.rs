//! Print jobs as the use cases queue them: already rendered, addressed to a named printer,
//! polled and acknowledged by print agents.

use serde::{Deserialize, Serialize};

use crate::ids::{OrderId, PrintJobId, ShiftId};
use crate::printing::Paper;
use crate::staff::Station;
use crate::validate::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintJobKind {
    Receipt,
    KitchenTicket,
    BarTicket,
    ShiftReport,
    ZReport,
}

impl PrintJobKind {
    pub const ALL: [PrintJobKind; 5] = [
        PrintJobKind::Receipt,
        PrintJobKind::KitchenTicket,
        PrintJobKind::BarTicket,
        PrintJobKind::ShiftReport,
        PrintJobKind::ZReport,
    ];

    /// The value of `print_jobs.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrintJobKind::Receipt => "receipt",
            PrintJobKind::KitchenTicket => "kitchen_ticket",
            PrintJobKind::BarTicket => "bar_ticket",
            PrintJobKind::ShiftReport => "shift_report",
            PrintJobKind::ZReport => "z_report",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        PrintJobKind::ALL
            .into_iter()
            .find(|k| k.as_str() == raw.trim())
            .ok_or_else(|| {
                ValidationError::new(
                    "kind",
                    "must be one of receipt, kitchen_ticket, bar_ticket, shift_report, z_report",
                )
            })
    }

    /// The ticket kind of a station.
    pub fn ticket_for(station: Station) -> Self {
        match station {
            Station::Kitchen => PrintJobKind::KitchenTicket,
            Station::Bar => PrintJobKind::BarTicket,
        }
    }
}

/// A job about to be queued (status `queued`, no attempts yet), in the transaction of the
/// change that caused it. The id is chosen by the domain so that the `print_job.queued`
/// event of the same transaction can name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPrintJob {
    pub id: PrintJobId,
    pub kind: PrintJobKind,
    /// The printer an agent polls for (`GET /api/print-jobs?printer=…`), 1–80 characters.
    pub printer: String,
    pub order_id: Option<OrderId>,
    pub shift_id: Option<ShiftId>,
    pub paper: Paper,
    pub payload_text: String,
    pub payload_escpos: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_stations_map_to_their_ticket() {
        for kind in PrintJobKind::ALL {
            assert_eq!(PrintJobKind::parse(kind.as_str()), Ok(kind));
        }
        assert!(PrintJobKind::parse("menu").is_err());
        assert_eq!(
            PrintJobKind::ticket_for(Station::Kitchen),
            PrintJobKind::KitchenTicket
        );
        assert_eq!(PrintJobKind::ticket_for(Station::Bar).as_str(), "bar_ticket");
    }
}
