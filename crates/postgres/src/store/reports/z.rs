//! Z reports: the day's figures gathered, numbered without gaps and hash-chained, in the
//! transaction that closes the business day.

use super::*;

#[derive(QueryableByName)]
pub(super) struct ZRow {
    #[diesel(sql_type = BigInt)]
    number: i64,
    #[diesel(sql_type = Date)]
    business_date: NaiveDate,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Timestamptz)]
    period_start: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    period_end: DateTime<Utc>,
    #[diesel(sql_type = Jsonb)]
    totals: serde_json::Value,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    created_by: Uuid,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    prev_hash: String,
    #[diesel(sql_type = Text)]
    hash: String,
}

pub(super) const Z_COLUMNS: &str = "number, business_date, currency, period_start, period_end, totals, created_by, created_at, prev_hash, hash";

impl ZRow {
    pub(super) fn stored(self) -> StoredZ {
        StoredZ {
            number: self.number,
            business_date: self.business_date,
            currency: self.currency,
            period_start: self.period_start,
            period_end: self.period_end,
            totals: self.totals,
            created_by: StaffId::from_uuid(self.created_by),
            created_at: self.created_at,
            prev_hash: self.prev_hash,
            hash: self.hash,
        }
    }

    pub(super) fn record(self) -> Result<ZReportRecord, StoreError> {
        let totals: ZTotals = serde_json::from_value(self.totals.clone())
            .map_err(|e| StoreError::Internal(format!("stored z_reports.totals is invalid: {e}")))?;
        Ok(ZReportRecord {
            number: self.number,
            business_date: self.business_date,
            currency: self.currency,
            period_start: self.period_start,
            period_end: self.period_end,
            totals,
            created_by: StaffId::from_uuid(self.created_by),
            created_at: self.created_at,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

#[derive(QueryableByName)]
struct OpenShiftRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    shift_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    staff_id: Uuid,
    #[diesel(sql_type = Text)]
    staff: String,
    #[diesel(sql_type = Timestamptz)]
    opened_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct ZShiftRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    shift_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    staff_id: Uuid,
    #[diesel(sql_type = Text)]
    staff: String,
    #[diesel(sql_type = Timestamptz)]
    opened_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    closed_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    opening_float: i64,
    #[diesel(sql_type = BigInt)]
    expected_cash: i64,
    #[diesel(sql_type = BigInt)]
    counted_cash: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    variance_approved_by: Option<Uuid>,
}

#[derive(QueryableByName)]
struct VoidSums {
    #[diesel(sql_type = BigInt)]
    orders: i64,
    #[diesel(sql_type = BigInt)]
    items: i64,
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

#[derive(QueryableByName)]
struct DiscountSums {
    #[diesel(sql_type = BigInt)]
    orders: i64,
    #[diesel(sql_type = BigInt)]
    amount: i64,
    #[diesel(sql_type = BigInt)]
    approved: i64,
}

/// The figures of a Z report's period.
fn z_figures(conn: &mut PgConnection, w: &ReportWindow) -> QueryResult<ZFigures> {
    let sums = summary_sums(conn, w)?;
    let payments = by_method(conn, w)?;
    let refunds_count = refunds_count(conn, w)?;
    let tax = tax(conn, w)?;
    let voids: VoidSums = window(
        "SELECT (SELECT count(*) FROM orders o WHERE o.voided_at >= $1 AND o.voided_at < $2 \
           AND o.status = 'voided')::bigint AS orders, \
         count(*)::bigint AS items, \
         COALESCE(sum((i.unit_price + i.modifiers_total) * i.quantity), 0)::bigint AS amount \
         FROM order_items i WHERE i.voided_at >= $1 AND i.voided_at < $2 AND i.status = 'voided'"
            .to_owned(),
        w,
    )
    .get_result(conn)?;
    let discounts: DiscountSums = window(
        format!(
            "SELECT count(*)::bigint AS orders, COALESCE(sum(x.amount), 0)::bigint AS amount, \
             count(*) FILTER (WHERE x.approved_by IS NOT NULL)::bigint AS approved FROM ({}) x",
            discount_sql()
        ),
        w,
    )
    .get_result(conn)?;
    let shifts: Vec<ZShiftRow> = window(
        "SELECT sh.id AS shift_id, sh.staff_id, s.full_name AS staff, sh.opened_at, sh.closed_at, sh.opening_float, \
         sh.expected_cash, sh.counted_cash, sh.variance_approved_by \
         FROM shifts sh JOIN staff s ON s.id = sh.staff_id \
         WHERE sh.status = 'closed' AND sh.closed_at >= $1 AND sh.closed_at < $2 ORDER BY sh.closed_at, sh.id"
            .to_owned(),
        w,
    )
    .load(conn)?;
    Ok(ZFigures {
        sums,
        payments,
        refunds_count,
        tax,
        voids: ZVoids {
            orders: voids.orders,
            items: voids.items,
            amount: voids.amount,
        },
        discounts: ZDiscounts {
            orders: discounts.orders,
            amount: discounts.amount,
            approved: discounts.approved,
        },
        shifts: shifts
            .into_iter()
            .map(|s| ZShiftCash {
                shift_id: s.shift_id,
                staff_id: s.staff_id,
                staff: s.staff,
                opened_at: s.opened_at,
                closed_at: s.closed_at,
                opening_float: s.opening_float,
                expected_cash: s.expected_cash,
                counted_cash: s.counted_cash,
                variance: s.counted_cash.saturating_sub(s.expected_cash),
                variance_approved_by: s.variance_approved_by,
            })
            .collect(),
    })
}

/// How a close ends early.
pub(super) enum Stop {
    Db(DbError),
    Answer(ZMutation),
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Self {
        Stop::Db(DbError::Diesel(e))
    }
}

impl From<DbError> for Stop {
    fn from(e: DbError) -> Self {
        Stop::Db(e)
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Db(DbError::Store(e))
    }
}

impl From<Abort> for Stop {
    fn from(abort: Abort) -> Self {
        match abort {
            Abort::Db(e) => Stop::Db(e),
            Abort::Answer(Mutation::Replayed(response)) => Stop::Answer(ZMutation::Replayed(response)),
            Abort::Answer(Mutation::KeyMismatch) => Stop::Answer(ZMutation::KeyMismatch),
            Abort::Answer(Mutation::KeyInProgress) => Stop::Answer(ZMutation::KeyInProgress),
            Abort::Answer(_) => Stop::Db(DbError::Store(StoreError::Internal(
                "an order answer came out of a Z report's idempotency claim".into(),
            ))),
        }
    }
}

/// The Z table's lock: taken before reading the last report, held to commit, so numbers are
/// handed out one close at a time (and a rolled-back close leaves no gap).
const Z_LOCK: &str = "LOCK TABLE z_reports IN SHARE ROW EXCLUSIVE MODE";

/// The first report's period starts here: everything before it.
fn epoch() -> DateTime<Utc> {
    Utc.timestamp_opt(0, 0).single().unwrap_or_default()
}

fn refuse(conn: &mut PgConnection, claim: Option<ZClaim>, refusal: ZRefusal) -> Result<ZMutation, Stop> {
    match claim {
        Some(claim) => {
            let response = (claim.render)(ZRender::Refused(&refusal));
            store_response(conn, claim.staff_id, &claim.key, &response)?;
            Ok(ZMutation::Refused {
                refusal,
                response: Some(response),
            })
        }
        None => Err(Stop::Answer(ZMutation::Refused {
            refusal,
            response: None,
        })),
    }
}

pub(super) fn close_day(
    conn: &mut PgConnection,
    cmd: CloseDay,
    claim: Option<ZClaim>,
) -> Result<ZMutation, Stop> {
    if let Some(c) = &claim {
        let as_order_claim = IdempotencyClaim::new(c.staff_id, c.key.clone(), c.fingerprint.clone(), |_| {
            pos_domain::idempotency::StoredResponse {
                status: 500,
                content_type: String::new(),
                body: Vec::new(),
            }
        });
        claim_key(conn, &as_order_claim)?;
    }
    if let Err(refusal) = cmd.authorise() {
        return refuse(conn, claim, refusal);
    }
    sql_query(Z_LOCK).execute(conn)?;
    let open: Vec<OpenShiftRow> = sql_query(
        "SELECT sh.id AS shift_id, sh.staff_id, s.full_name AS staff, sh.opened_at FROM shifts sh \
         JOIN staff s ON s.id = sh.staff_id WHERE sh.status = 'open' ORDER BY sh.opened_at, sh.id",
    )
    .load(conn)?;
    let open = open
        .into_iter()
        .map(|r| OpenShiftRef {
            shift_id: r.shift_id,
            staff_id: r.staff_id,
            staff: r.staff,
            opened_at: r.opened_at,
        })
        .collect();
    if let Err(refusal) = CloseDay::check_shifts(open) {
        return refuse(conn, claim, refusal);
    }
    let last: Option<ZRow> = sql_query(format!(
        "SELECT {Z_COLUMNS} FROM z_reports ORDER BY number DESC LIMIT 1"
    ))
    .get_result(conn)
    .optional()?;
    if let Some(same_day) = sql_query("SELECT number AS amount FROM z_reports WHERE business_date = $1")
        .bind::<Date, _>(cmd.business_date)
        .get_result::<Amount>(conn)
        .optional()?
    {
        let refusal = ZRefusal::DayClosed {
            business_date: cmd.business_date,
            number: same_day.amount,
        };
        return refuse(conn, claim, refusal);
    }
    // PostgreSQL keeps microseconds: the hash covers the instants as they will be read back.
    let now = cmd.now.trunc_subsecs(6);
    let start = last.as_ref().map_or_else(epoch, |l| l.period_end);
    let period = ReportWindow {
        start,
        end: now.max(start),
        clock: cmd.clock,
        currency: cmd.currency,
    };
    let figures = z_figures(conn, &period)?;
    let totals = ZTotals::build(cmd.currency, period.start, period.end, figures);
    let number = last.as_ref().map_or(1, |l| l.number.saturating_add(1));
    let prev_hash = last.map_or_else(|| GENESIS_HASH.to_owned(), |l| l.hash);
    let json = serde_json::to_value(&totals)
        .map_err(|e| StoreError::Internal(format!("a Z report's totals cannot be stored: {e}")))?;
    // Hash what reading the row back will give (jsonb's own normal form).
    #[derive(QueryableByName)]
    struct Normal {
        #[diesel(sql_type = Jsonb)]
        value: serde_json::Value,
    }
    let json = sql_query("SELECT $1::jsonb AS value")
        .bind::<Jsonb, _>(json)
        .get_result::<Normal>(conn)?
        .value;
    let currency = cmd.currency.code();
    let hash = chain_hash(
        &prev_hash,
        number,
        cmd.business_date,
        currency,
        period.start,
        period.end,
        &json,
        cmd.by.id,
        now,
    );
    sql_query(
        "INSERT INTO z_reports (number, business_date, currency, totals, created_by, created_at, \
         period_start, period_end, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind::<BigInt, _>(number)
    .bind::<Date, _>(cmd.business_date)
    .bind::<Text, _>(currency)
    .bind::<Jsonb, _>(json.clone())
    .bind::<diesel::sql_types::Uuid, _>(cmd.by.id.as_uuid())
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(period.start)
    .bind::<Timestamptz, _>(period.end)
    .bind::<Text, _>(prev_hash.clone())
    .bind::<Text, _>(hash.clone())
    .execute(conn)?;
    let record = ZReportRecord {
        number,
        business_date: cmd.business_date,
        currency: currency.to_owned(),
        period_start: period.start,
        period_end: period.end,
        totals,
        created_by: cmd.by.id,
        created_at: now,
        prev_hash,
        hash,
    };
    append_audit(
        conn,
        NewAuditEntry::new("z_report.created", "z_report")
            .actor(Some(cmd.by.id))
            .terminal(cmd.terminal)
            .entity_id(number)
            .after(serde_json::json!({
                "number": number,
                "business_date": cmd.business_date,
                "hash": record.hash,
                "payments_total": record.totals.payments_total,
                "refunds_total": record.totals.refunds_total,
                "tips_total": record.totals.tips_total,
            })),
        Utc::now(),
    )?;
    let response = match claim {
        Some(claim) => {
            let response = (claim.render)(ZRender::Committed(&record));
            store_response(conn, claim.staff_id, &claim.key, &response)?;
            Some(response)
        }
        None => None,
    };
    Ok(ZMutation::Committed {
        record: Box::new(record),
        response,
    })
}
