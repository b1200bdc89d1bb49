//! The use cases that change an existing order: items, notes, sending and serving, KDS
//! bumps, voids, cancelling, moving and merging. Each is permission → validation → one unit
//! of work, as in the parent module.

use super::sending::{TicketContext, send_work};
use super::*;

impl<S, C> OrderService<S, C>
where
    S: OrderPorts + ?Sized,
    C: Clock,
{
    /// `POST /api/orders/{id}/items`: adds pending items, priced now (happy hour included).
    pub async fn add_items(
        &self,
        caller: Caller,
        edit: Edit,
        items: Vec<ItemRequest>,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        let key = KeyOnRecord::of(claim.as_ref());
        let result = self.add_items_claiming(caller, edit, items, claim).await;
        self.answer_on_record(key, result).await
    }

    async fn add_items_claiming(
        &self,
        caller: Caller,
        edit: Edit,
        items: Vec<ItemRequest>,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::EditUnsentItems)?;
        if items.is_empty() {
            return Err(ValidationError::new("items", "must not be empty").into());
        }
        let now = self.now();
        let settings = self.cached_settings().await?;
        let items = self.prepare_items(&items, &settings, now).await?;
        let work: OrderWork = Box::new(move |order| {
            let mut ids = Vec::with_capacity(items.len());
            for item in items {
                ids.push(order.add_item(item, now)?);
            }
            updated(order, OrderChange::ItemsAdded(ids), UpdateKind::ItemsAdded)
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// `PATCH /api/orders/{id}/items/{item_id}`: changes a pending item.
    pub async fn update_item(
        &self,
        caller: Caller,
        edit: Edit,
        item_id: OrderItemId,
        update: ItemUpdate,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        let key = KeyOnRecord::of(claim.as_ref());
        let result = self
            .update_item_claiming(caller, edit, item_id, update, claim)
            .await;
        self.answer_on_record(key, result).await
    }

    async fn update_item_claiming(
        &self,
        caller: Caller,
        edit: Edit,
        item_id: OrderItemId,
        update: ItemUpdate,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::EditUnsentItems)?;
        // Modifiers are snapshotted from the item's product; an item never changes product,
        // so reading it ahead of the unit is safe (the unit re-checks the item is there).
        let modifiers = match &update.modifier_ids {
            None => None,
            Some(ids) => {
                let current = self.store.get_order(edit.order_id).await?;
                let product_id = match current.item(item_id) {
                    Ok(item) => item.product_id,
                    Err(error) => {
                        return Err(OrderServiceError::Refused {
                            error,
                            current: Some(Box::new(current)),
                            response: None,
                        });
                    }
                };
                let products = self.store.products_by_ids(&[product_id]).await?;
                let product = products
                    .iter()
                    .find(|p| p.id == product_id)
                    .ok_or_else(|| OrderServiceError::refused(OrderError::ProductUnavailable(product_id)))?;
                Some(
                    crate::order::parts::chosen_modifiers(product, ids)
                        .map_err(OrderServiceError::refused)?,
                )
            }
        };
        let now = self.now();
        let changes = ItemChanges {
            quantity: update.quantity,
            modifiers,
            notes: update.notes,
            seat: update.seat,
            course: update.course,
        };
        let work: OrderWork = Box::new(move |order| {
            order.update_item(item_id, changes, now)?;
            updated(order, OrderChange::ItemUpdated(item_id), UpdateKind::ItemUpdated)
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// `DELETE /api/orders/{id}/items/{item_id}`: removes a pending item.
    pub async fn remove_item(
        &self,
        caller: Caller,
        edit: Edit,
        item_id: OrderItemId,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::EditUnsentItems)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let was = order.status;
            order.remove_item(item_id, now)?;
            let mut output = updated(order, OrderChange::ItemRemoved(item_id), UpdateKind::ItemRemoved)?;
            announce_ready(was, order, &mut output.effects)?;
            Ok(output)
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// Sets or clears the order's preparation notes (printed on its tickets).
    pub async fn set_preparation_notes(
        &self,
        caller: Caller,
        edit: Edit,
        notes: Option<Note>,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::EditUnsentItems)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            order.set_preparation_notes(notes, now)?;
            updated(
                order,
                OrderChange::PreparationNotesSet,
                UpdateKind::PreparationNotesSet,
            )
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// `POST /api/orders/{id}/send`: routes every pending item to its station (later
    /// courses are held), queues one ticket per station, decrements stock.
    pub async fn send(
        &self,
        caller: Caller,
        edit: Edit,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        let ctx = self.ticket_context(caller).await?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| send_work(order, &ctx, now, |o| o.send(now)));
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// `POST /api/orders/{id}/courses/{course}/fire`: the held items of that course go to
    /// their stations, with `order.sent` and tickets for them only.
    pub async fn fire_course(
        &self,
        caller: Caller,
        edit: Edit,
        course: NonZeroU8,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        let ctx = self.ticket_context(caller).await?;
        let now = self.now();
        let work: OrderWork =
            Box::new(move |order| send_work(order, &ctx, now, |o| o.fire_course(course, now)));
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    async fn ticket_context(&self, caller: Caller) -> ServiceResult<TicketContext> {
        permit(caller.actor, Action::SendOrder)?;
        let settings = Settings::clone(&*self.cached_settings().await?);
        let table_codes = self
            .cached_tables()
            .await?
            .iter()
            .map(|t| (t.id, t.code.as_str().to_owned()))
            .collect();
        let staff_name = String::clone(&*self.cached_staff_name(caller.actor.id).await?);
        Ok(TicketContext {
            settings,
            table_codes,
            staff_name,
            config: self.config.clone(),
        })
    }

    /// `POST /api/orders/{id}/serve`: every ready item goes out.
    pub async fn serve(
        &self,
        caller: Caller,
        edit: Edit,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::ServeOrder)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let served = order.serve(now)?;
            let mut effects = Effects::default();
            for id in &served {
                let item = order.item(*id)?;
                if item.station.is_some() {
                    effects
                        .events
                        .push(events::item_status_changed(order, item, ItemStatus::Ready));
                }
            }
            effects
                .events
                .push(events::order_updated(order, UpdateKind::Served)?);
            crate::payments::close_if_settled(order, now, &mut effects)?;
            Ok(WorkOutput {
                change: OrderChange::Served(served),
                effects,
            })
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    // ----- kitchen display -----------------------------------------------------------------

    /// `POST /api/kds/items/{item_id}/bump`: sent → preparing → ready. The order becomes
    /// ready (event `order.ready`) when its last item is.
    pub async fn bump_item(
        &self,
        caller: Caller,
        item_id: OrderItemId,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        self.step_item(caller, item_id, claim, true).await
    }

    /// `POST /api/kds/items/{item_id}/recall`: undoes the last bump (ready → preparing →
    /// sent).
    pub async fn recall_item(
        &self,
        caller: Caller,
        item_id: OrderItemId,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        self.step_item(caller, item_id, claim, false).await
    }

    async fn step_item(
        &self,
        caller: Caller,
        item_id: OrderItemId,
        claim: Option<IdempotencyClaim>,
        forward: bool,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::BumpKdsItems)?;
        let actor = caller.actor;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let item = order.item(item_id)?;
            station_permitted(actor, item.station, Action::BumpKdsItems)?;
            let previous = item.status;
            let was = order.status;
            let change = if forward {
                let status = order.bump_item(item_id, now)?;
                OrderChange::ItemBumped {
                    item: item_id,
                    status,
                }
            } else {
                let status = order.recall_item(item_id, now)?;
                OrderChange::ItemRecalled {
                    item: item_id,
                    status,
                }
            };
            let mut effects = Effects::default();
            effects
                .events
                .push(events::item_status_changed(order, order.item(item_id)?, previous));
            announce_ready(was, order, &mut effects)?;
            // Paid before the kitchen was done: its last item ready, the order closes.
            crate::payments::close_if_settled(order, now, &mut effects)?;
            Ok(WorkOutput { change, effects })
        });
        self.mutate(OrderTarget::Item(item_id), None, claim, work).await
    }

    /// Bumps a whole ticket: every item of `station` still at it becomes ready.
    pub async fn bump_ticket(
        &self,
        caller: Caller,
        order_id: OrderId,
        station: Station,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::BumpKdsItems)?;
        station_permitted(caller.actor, Some(station), Action::BumpKdsItems)
            .map_err(OrderServiceError::Forbidden)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let before: HashMap<OrderItemId, ItemStatus> =
                order.items.iter().map(|i| (i.id, i.status)).collect();
            let was = order.status;
            let bumped = order.bump_station(station, now)?;
            let mut effects = Effects::default();
            for id in &bumped {
                let previous = before.get(id).copied().unwrap_or(ItemStatus::Sent);
                effects
                    .events
                    .push(events::item_status_changed(order, order.item(*id)?, previous));
            }
            announce_ready(was, order, &mut effects)?;
            crate::payments::close_if_settled(order, now, &mut effects)?;
            Ok(WorkOutput {
                change: OrderChange::TicketBumped {
                    station,
                    items: bumped,
                },
                effects,
            })
        });
        self.mutate(OrderTarget::Order(order_id), None, claim, work).await
    }

    // ----- discounts --------------------------------------------------------------------------

    /// Sets (`discount: Some`) or clears the discount of the order (`item: None`) or of one
    /// item: up to the cashier limit of settings; beyond it a manager acts or approves in
    /// the same request (`approval`). Totals and tax follow from the domain's totals; the
    /// audit log records who gave it and who approved it.
    pub async fn set_discount(
        &self,
        caller: Caller,
        edit: Edit,
        item: Option<OrderItemId>,
        discount: DiscountCmd,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::ApplyDiscount)?;
        let now = self.now();
        let limit = self.cached_settings().await?.cashier_discount_limit_bp;
        let work: OrderWork =
            Box::new(move |order| {
                let before = order.totals()?;
                let change = crate::order::DiscountChange {
                    discount: discount.discount,
                    reason: discount.reason,
                    actor: caller.actor,
                    approval: discount.approval,
                    cashier_limit_bp: limit,
                };
                match item {
                    None => order.set_discount(change, now)?,
                    Some(id) => order.set_item_discount(id, change, now)?,
                }
                let applied = match item {
                    None => order.discount.clone(),
                    Some(id) => order.item(id)?.discount.clone(),
                };
                let after = order.totals()?;
                let mut output = updated(order, OrderChange::DiscountSet { item }, UpdateKind::DiscountSet)?;
                output.effects.audit.push(
                NewAuditEntry::new(
                    if applied.is_some() { "discount.applied" } else { "discount.cleared" },
                    if item.is_some() { "order_item" } else { "order" },
                )
                .actor(Some(caller.actor.id))
                .approver(applied.as_ref().and_then(|a| a.approved_by).filter(|a| *a != caller.actor.id))
                .terminal(caller.terminal_id)
                .entity_id(item.map_or_else(|| order.id.to_string(), |i| i.to_string()))
                .before(serde_json::json!({
                    "order_id": order.id,
                    "discount": before.discount.minor(),
                    "total": before.total.minor(),
                }))
                .after(serde_json::json!({
                    "order_id": order.id,
                    "discount": after.discount.minor(),
                    "total": after.total.minor(),
                    "applied": applied.as_ref().map(|a| a.discount),
                    "reason": applied.as_ref().and_then(|a| a.reason.as_ref().map(|r| r.as_str().to_owned())),
                })),
            );
                Ok(output)
            });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    // ----- voids, cancel, move, merge -------------------------------------------------------

    /// `POST /api/orders/{id}/items/{item_id}/void`: a pending item by anyone who edits
    /// orders; once sent, only with a manager (acting or approving). Sent stock comes back.
    /// The audit log records who voided and who approved.
    pub async fn void_item(
        &self,
        caller: Caller,
        edit: Edit,
        item_id: OrderItemId,
        void: VoidCmd,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::EditUnsentItems)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let before = order.item(item_id)?.clone();
            let was = order.status;
            let record = order.void_item(item_id, caller.actor, void.approval, void.reason, now)?;
            let was_sent = !before.status.is_unsent();
            let mut effects = Effects::default();
            if was_sent {
                effects.stock = stock_of([&before], 1);
            }
            if was_sent && before.station.is_some() && before.status != ItemStatus::Served {
                effects.events.push(events::item_status_changed(
                    order,
                    order.item(item_id)?,
                    before.status,
                ));
            }
            effects
                .events
                .push(events::order_updated(order, UpdateKind::ItemVoided)?);
            announce_ready(was, order, &mut effects)?;
            effects.audit.push(
                NewAuditEntry::new("order_item.voided", "order_item")
                    .actor(Some(record.by))
                    .approver(record.approved_by)
                    .terminal(caller.terminal_id)
                    .entity_id(item_id)
                    .before(serde_json::json!({
                        "order_id": order.id,
                        "order_number": order.number,
                        "name": before.name.as_str(),
                        "quantity": before.quantity.get(),
                        "unit_price": before.unit_price.minor(),
                        "currency": order.currency,
                        "status": before.status,
                    }))
                    .after(serde_json::json!({
                        "status": ItemStatus::Voided,
                        "reason": record.reason.as_str(),
                    })),
            );
            Ok(WorkOutput {
                change: OrderChange::ItemVoided {
                    item: item_id,
                    record,
                },
                effects,
            })
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// `POST /api/orders/{id}/void`: the whole order, before close and with nothing paid;
    /// needs a manager once anything was sent. Sent stock comes back, the stations drop the
    /// items, the table frees up, the audit log records both people.
    pub async fn void_order(
        &self,
        caller: Caller,
        edit: Edit,
        void: VoidCmd,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::EditUnsentItems)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let before: Vec<OrderItem> = order.live_items().cloned().collect();
            let total_before = order.totals()?.total;
            let status_before = order.status;
            let record = order.void_order(caller.actor, void.approval, void.reason, now)?;
            let mut effects = Effects {
                stock: stock_of(before.iter().filter(|i| !i.status.is_unsent()), 1),
                ..Effects::default()
            };
            for item in before.iter().filter(|i| {
                i.station.is_some()
                    && matches!(
                        i.status,
                        ItemStatus::Sent | ItemStatus::Preparing | ItemStatus::Ready
                    )
            }) {
                effects.events.push(events::item_status_changed(
                    order,
                    order.item(item.id)?,
                    item.status,
                ));
            }
            effects.events.push(events::order_voided(order, &record)?);
            if let Some(table) = order.table_id {
                effects
                    .events
                    .push(events::table_updated(table, order.id, TableChange::OrderEnded));
            }
            effects.audit.push(
                NewAuditEntry::new("order.voided", "order")
                    .actor(Some(record.by))
                    .approver(record.approved_by)
                    .terminal(caller.terminal_id)
                    .entity_id(order.id)
                    .before(serde_json::json!({
                        "number": order.number,
                        "status": status_before,
                        "total": total_before.minor(),
                        "currency": order.currency,
                        "items": before.len(),
                    }))
                    .after(serde_json::json!({
                        "status": OrderStatus::Voided,
                        "reason": record.reason.as_str(),
                    })),
            );
            Ok(WorkOutput {
                change: OrderChange::OrderVoided(record),
                effects,
            })
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// Ends an order that has nothing (live) on it.
    pub async fn cancel_empty(
        &self,
        caller: Caller,
        edit: Edit,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::CancelEmptyOrder)?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            order.cancel_empty(now)?;
            let mut effects = Effects::default();
            effects.events.push(events::order_closed(order)?);
            if let Some(table) = order.table_id {
                effects
                    .events
                    .push(events::table_updated(table, order.id, TableChange::OrderEnded));
            }
            Ok(WorkOutput {
                change: OrderChange::Cancelled,
                effects,
            })
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// Moves a dine-in order to another (active) table; both tables get a `table.updated`.
    pub async fn move_to_table(
        &self,
        caller: Caller,
        edit: Edit,
        table_id: TableId,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        let key = KeyOnRecord::of(claim.as_ref());
        let result = self.move_to_table_claiming(caller, edit, table_id, claim).await;
        self.answer_on_record(key, result).await
    }

    async fn move_to_table_claiming(
        &self,
        caller: Caller,
        edit: Edit,
        table_id: TableId,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::MoveOrder)?;
        self.active_table(table_id).await?;
        let now = self.now();
        let work: OrderWork = Box::new(move |order| {
            let from = order.move_to_table(table_id, now)?;
            let mut output = updated(
                order,
                OrderChange::Moved { from, to: table_id },
                UpdateKind::Moved,
            )?;
            if let Some(from) = from {
                output
                    .effects
                    .events
                    .push(events::table_updated(from, order.id, TableChange::OrderMovedOut));
            }
            output.effects.events.push(events::table_updated(
                table_id,
                order.id,
                TableChange::OrderMovedIn,
            ));
            Ok(output)
        });
        self.mutate(
            OrderTarget::Order(edit.order_id),
            edit.expected_version,
            claim,
            work,
        )
        .await
    }

    /// Moves every item of `source` onto `target` and cancels `source` (merged into it).
    /// Items still at a station are announced to it (`order.merged`) under the new number.
    pub async fn merge(
        &self,
        caller: Caller,
        target: Edit,
        source: Edit,
        claim: Option<IdempotencyClaim>,
    ) -> ServiceResult<Outcome> {
        permit(caller.actor, Action::MergeOrders)?;
        if target.order_id == source.order_id {
            return Err(OrderServiceError::refused(OrderError::MergeWithItself));
        }
        let now = self.now();
        let work: MergeWork = Box::new(move |target, source| {
            let moved = target.merge_from(source, now)?;
            let mut effects = Effects::default();
            effects
                .events
                .push(events::order_updated(target, UpdateKind::Merged)?);
            effects.events.push(events::order_closed(source)?);
            let mut at_station: BTreeMap<Station, Vec<OrderItemId>> = BTreeMap::new();
            for id in &moved {
                let item = target.item(*id)?;
                if let (Some(station), ItemStatus::Sent | ItemStatus::Preparing | ItemStatus::Ready) =
                    (item.station, item.status)
                {
                    at_station.entry(station).or_default().push(item.id);
                }
            }
            for (station, ids) in at_station {
                effects
                    .events
                    .push(events::order_merged(target, source, station, ids));
            }
            if let Some(table) = source.table_id {
                effects
                    .events
                    .push(events::table_updated(table, source.id, TableChange::OrderMerged));
            }
            effects.audit.push(
                NewAuditEntry::new("order.merged", "order")
                    .actor(Some(caller.actor.id))
                    .terminal(caller.terminal_id)
                    .entity_id(target.id)
                    .before(serde_json::json!({
                        "source_order_id": source.id,
                        "source_number": source.number,
                    }))
                    .after(serde_json::json!({
                        "number": target.number,
                        "items_moved": moved,
                    })),
            );
            Ok(WorkOutput {
                change: OrderChange::Merged {
                    source: source.id,
                    items: moved,
                },
                effects,
            })
        });
        let mutation = self
            .store
            .merge_orders(
                (target.order_id, target.expected_version),
                (source.order_id, source.expected_version),
                claim,
                work,
            )
            .await?;
        self.finish(mutation).await
    }

    // ----- plumbing ------------------------------------------------------------------------
}
