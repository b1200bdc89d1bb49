//! The kitchen's side of an order: sending, holding and firing courses, bumps, recalls and
//! serving.

use super::*;

impl Order {
    /// Routes every pending item to its station; items without a station become ready.
    /// Items of a later course are held until that course is fired ([`Order::fire_course`]):
    /// the order's first course (items without one count as course 1) and courses already
    /// fired go at once.
    pub fn send(&mut self, now: DateTime<Utc>) -> Result<SendOutcome, OrderError> {
        self.ensure_not_finished()?;
        self.edit(now, |order| {
            let first_course = order
                .live_items()
                .map(OrderItem::course_number)
                .min()
                .unwrap_or(1);
            let fired: BTreeSet<u8> = order
                .live_items()
                .filter(|i| !i.status.is_unsent())
                .map(OrderItem::course_number)
                .collect();
            let mut held = Vec::new();
            let mut to_send = Vec::new();
            for item in order.items.iter_mut().filter(|i| i.status == ItemStatus::Pending) {
                let course = item.course_number();
                if course == first_course || fired.contains(&course) {
                    to_send.push(item.id);
                } else {
                    item.status = ItemStatus::Held;
                    held.push(item.id);
                }
            }
            if to_send.is_empty() && held.is_empty() {
                return Err(OrderError::NothingToSend);
            }
            let mut outcome = order.route_to_stations(&to_send, now);
            outcome.held = held;
            Ok(outcome)
        })
    }

    /// Sends the held items of `course` to their stations (the waiter calls the next course).
    pub fn fire_course(&mut self, course: NonZeroU8, now: DateTime<Utc>) -> Result<SendOutcome, OrderError> {
        self.ensure_not_finished()?;
        self.edit(now, |order| {
            let ids: Vec<OrderItemId> = order
                .items
                .iter()
                .filter(|i| i.status == ItemStatus::Held && i.course_number() == course.get())
                .map(|i| i.id)
                .collect();
            if ids.is_empty() {
                return Err(OrderError::NothingToFire(course.get()));
            }
            Ok(order.route_to_stations(&ids, now))
        })
    }

    /// Moves `ids` (pending or held) to their stations, or straight to ready without one.
    fn route_to_stations(&mut self, ids: &[OrderItemId], now: DateTime<Utc>) -> SendOutcome {
        let mut by_station: BTreeMap<Station, Vec<OrderItemId>> = BTreeMap::new();
        let mut outcome = SendOutcome::default();
        for item in self.items.iter_mut().filter(|i| ids.contains(&i.id)) {
            item.sent_at = Some(now);
            match item.station {
                Some(station) => {
                    item.status = ItemStatus::Sent;
                    by_station.entry(station).or_default().push(item.id);
                }
                None => {
                    item.status = ItemStatus::Ready;
                    item.ready_at = Some(now);
                    outcome.ready_without_station.push(item.id);
                }
            }
        }
        for (station, items) in by_station {
            let first_sent = match station {
                Station::Kitchen => &mut self.sent_to_kitchen_at,
                Station::Bar => &mut self.sent_to_bar_at,
            };
            let first_for_station = first_sent.is_none();
            if first_for_station {
                *first_sent = Some(now);
            }
            outcome.tickets.push(StationTicket {
                station,
                items,
                first_for_station,
            });
        }
        outcome
    }

    /// One step forward at the station: sent → preparing → ready. Returns the new status.
    pub fn bump_item(&mut self, id: OrderItemId, now: DateTime<Utc>) -> Result<ItemStatus, OrderError> {
        self.ensure_not_finished()?;
        self.edit(now, |order| {
            let item = order.item_mut(id)?;
            match item.status {
                ItemStatus::Sent => {
                    item.status = ItemStatus::Preparing;
                    item.preparing_at = Some(now);
                }
                ItemStatus::Preparing => {
                    item.status = ItemStatus::Ready;
                    item.ready_at = Some(now);
                }
                status => {
                    return Err(OrderError::InvalidItemTransition {
                        item: id,
                        status,
                        action: "bump",
                    });
                }
            }
            Ok(item.status)
        })
    }

    /// Bumps a whole ticket: every item of `station` still at it becomes ready.
    pub fn bump_station(
        &mut self,
        station: Station,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderItemId>, OrderError> {
        self.ensure_not_finished()?;
        self.edit(now, |order| {
            let mut bumped = Vec::new();
            for item in order
                .items
                .iter_mut()
                .filter(|i| i.station == Some(station) && i.status.is_at_station())
            {
                item.status = ItemStatus::Ready;
                item.preparing_at.get_or_insert(now);
                item.ready_at = Some(now);
                bumped.push(item.id);
            }
            if bumped.is_empty() {
                return Err(OrderError::NothingToBump(station));
            }
            Ok(bumped)
        })
    }

    /// Undoes the last bump: ready → preparing → sent. Returns the new status.
    pub fn recall_item(&mut self, id: OrderItemId, now: DateTime<Utc>) -> Result<ItemStatus, OrderError> {
        self.ensure_not_finished()?;
        self.edit(now, |order| {
            let item = order.item_mut(id)?;
            match (item.status, item.station) {
                (ItemStatus::Ready, Some(_)) => {
                    item.status = ItemStatus::Preparing;
                    item.ready_at = None;
                }
                (ItemStatus::Preparing, Some(_)) => {
                    item.status = ItemStatus::Sent;
                    item.preparing_at = None;
                }
                (status, _) => {
                    return Err(OrderError::InvalidItemTransition {
                        item: id,
                        status,
                        action: "recall",
                    });
                }
            }
            Ok(item.status)
        })
    }

    /// Serves every ready item (drinks may go out before the food).
    pub fn serve(&mut self, now: DateTime<Utc>) -> Result<Vec<OrderItemId>, OrderError> {
        self.ensure_not_finished()?;
        self.edit(now, |order| {
            let served = order.serve_ready_items(now);
            if served.is_empty() {
                return Err(OrderError::NothingToServe);
            }
            Ok(served)
        })
    }

    pub(super) fn serve_ready_items(&mut self, now: DateTime<Utc>) -> Vec<OrderItemId> {
        let mut served = Vec::new();
        for item in self.items.iter_mut().filter(|i| i.status == ItemStatus::Ready) {
            item.status = ItemStatus::Served;
            item.served_at = Some(now);
            served.push(item.id);
        }
        served
    }
}
