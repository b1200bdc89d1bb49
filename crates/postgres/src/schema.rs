//! Diesel's view of the tables in `migrations/`, written by hand to match the SQL column for
//! column (`tests/migrations.rs` fails when a table's column names or order here drift from
//! the migrated database).

diesel::table! {
    staff (id) {
        id -> Uuid,
        username -> Text,
        full_name -> Text,
        role -> Text,
        password_hash -> Text,
        pin_hash -> Nullable<Text>,
        pin_lookup -> Nullable<Text>,
        active -> Bool,
        must_change_password -> Bool,
        token_version -> Int4,
        password_changed_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    terminals (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        kind -> Text,
        station -> Nullable<Text>,
        location -> Nullable<Text>,
        has_printer -> Bool,
        has_cash_drawer -> Bool,
        active -> Bool,
        last_seen_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> Int8,
        scope -> Text,
        attempted_at -> Timestamptz,
        succeeded -> Bool,
    }
}

diesel::table! {
    account_locks (scope) {
        scope -> Text,
        locked_until -> Timestamptz,
        locked_at -> Timestamptz,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        actor_id -> Nullable<Uuid>,
        approver_id -> Nullable<Uuid>,
        terminal_id -> Nullable<Uuid>,
        action -> Text,
        entity -> Text,
        entity_id -> Nullable<Text>,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        prev_hash -> Text,
        hash -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    settings (id) {
        id -> Bool,
        cafe_name -> Text,
        currency -> Text,
        vat_rate_bp -> Int4,
        prices_include_tax -> Bool,
        service_charge_bp -> Int4,
        receipt_footer -> Text,
        cashier_discount_limit_bp -> Int4,
        backup_retention_days -> Int4,
        business_day_cutoff_hour -> Int4,
        utc_offset_minutes -> Int4,
        happy_hour_start -> Time,
        happy_hour_end -> Time,
        shift_variance_threshold -> Int8,
        updated_at -> Timestamptz,
        kds_warning_minutes -> Int4,
        kds_late_minutes -> Int4,
    }
}

diesel::table! {
    dining_tables (id) {
        id -> Uuid,
        code -> Text,
        area -> Nullable<Text>,
        seats -> Int4,
        image_url -> Nullable<Text>,
        sort_order -> Int4,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    categories (id) {
        id -> Uuid,
        name -> Text,
        default_station -> Nullable<Text>,
        sort_order -> Int4,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    products (id) {
        id -> Uuid,
        sku -> Text,
        name -> Text,
        category_id -> Uuid,
        section -> Nullable<Text>,
        price -> Int8,
        currency -> Text,
        station -> Nullable<Text>,
        available -> Bool,
        active -> Bool,
        image_url -> Nullable<Text>,
        sort_order -> Int4,
        happy_hour_price -> Nullable<Int8>,
        stock_qty -> Nullable<Int4>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    modifiers (id) {
        id -> Uuid,
        product_id -> Uuid,
        name -> Text,
        price -> Int8,
        sort_order -> Int4,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    menu_version (id) {
        id -> Bool,
        version -> Int8,
    }
}

diesel::table! {
    shifts (id) {
        id -> Uuid,
        staff_id -> Uuid,
        terminal_id -> Nullable<Uuid>,
        currency -> Text,
        opening_float -> Int8,
        counted_cash -> Nullable<Int8>,
        expected_cash -> Nullable<Int8>,
        status -> Text,
        opened_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
        closed_by -> Nullable<Uuid>,
        variance_approved_by -> Nullable<Uuid>,
        close_note -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    cash_movements (id) {
        id -> Uuid,
        shift_id -> Uuid,
        kind -> Text,
        amount -> Int8,
        currency -> Text,
        reason -> Text,
        staff_id -> Uuid,
        approved_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    z_reports (id) {
        id -> Uuid,
        number -> Int8,
        business_date -> Date,
        currency -> Text,
        totals -> Jsonb,
        created_by -> Uuid,
        created_at -> Timestamptz,
        period_start -> Timestamptz,
        period_end -> Timestamptz,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    order_number_counters (business_date) {
        business_date -> Date,
        last_number -> Int4,
    }
}

diesel::table! {
    orders (id) {
        id -> Uuid,
        business_date -> Date,
        number -> Int4,
        order_type -> Text,
        table_id -> Nullable<Uuid>,
        staff_id -> Uuid,
        terminal_id -> Nullable<Uuid>,
        shift_id -> Nullable<Uuid>,
        status -> Text,
        preparation_notes -> Nullable<Text>,
        currency -> Text,
        pricing -> Jsonb,
        applied_discount -> Nullable<Jsonb>,
        subtotal -> Int8,
        discount -> Int8,
        service_charge -> Int8,
        tax -> Int8,
        total -> Int8,
        paid -> Int8,
        version -> Int4,
        merged_into_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        sent_to_kitchen_at -> Nullable<Timestamptz>,
        sent_to_bar_at -> Nullable<Timestamptz>,
        ready_at -> Nullable<Timestamptz>,
        served_at -> Nullable<Timestamptz>,
        closed_at -> Nullable<Timestamptz>,
        voided_at -> Nullable<Timestamptz>,
        void_reason -> Nullable<Text>,
        voided_by -> Nullable<Uuid>,
        void_approved_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    order_items (id) {
        id -> Uuid,
        order_id -> Uuid,
        product_id -> Uuid,
        name -> Text,
        unit_price -> Int8,
        quantity -> Int4,
        modifiers -> Jsonb,
        modifiers_total -> Int8,
        applied_discount -> Nullable<Jsonb>,
        line_total -> Int8,
        notes -> Nullable<Text>,
        station -> Nullable<Text>,
        status -> Text,
        seat -> Nullable<Int4>,
        course -> Nullable<Int4>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        preparing_at -> Nullable<Timestamptz>,
        ready_at -> Nullable<Timestamptz>,
        served_at -> Nullable<Timestamptz>,
        voided_at -> Nullable<Timestamptz>,
        void_reason -> Nullable<Text>,
        voided_by -> Nullable<Uuid>,
        void_approved_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    payments (id) {
        id -> Uuid,
        order_id -> Uuid,
        method -> Text,
        amount -> Int8,
        currency -> Text,
        tendered -> Nullable<Int8>,
        change_given -> Nullable<Int8>,
        status -> Text,
        reference -> Nullable<Text>,
        provider_tracking_id -> Nullable<Text>,
        provider_confirmation_code -> Nullable<Text>,
        provider_payment_method -> Nullable<Text>,
        redirect_url -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        refunded_amount -> Int8,
        staff_id -> Uuid,
        shift_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        tip -> Int8,
    }
}

diesel::table! {
    refunds (id) {
        id -> Uuid,
        payment_id -> Uuid,
        amount -> Int8,
        currency -> Text,
        reason -> Text,
        staff_id -> Uuid,
        approved_by -> Nullable<Uuid>,
        shift_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_records (staff_id, key) {
        staff_id -> Uuid,
        key -> Text,
        fingerprint -> Text,
        status_code -> Nullable<Int4>,
        response_body -> Nullable<Bytea>,
        content_type -> Nullable<Text>,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    events (id) {
        id -> Int8,
        event_type -> Text,
        topic -> Text,
        station -> Nullable<Text>,
        payload -> Jsonb,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    print_jobs (id) {
        id -> Uuid,
        kind -> Text,
        printer -> Text,
        order_id -> Nullable<Uuid>,
        shift_id -> Nullable<Uuid>,
        paper -> Text,
        status -> Text,
        attempts -> Int4,
        payload_text -> Text,
        payload_escpos -> Bytea,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        claimed_at -> Nullable<Timestamptz>,
        printed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    backups (id) {
        id -> Uuid,
        name -> Text,
        size_bytes -> Int8,
        sha256 -> Nullable<Text>,
        created_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
        status -> Text,
        error -> Nullable<Text>,
        trigger -> Text,
    }
}

diesel::table! {
    app_secrets (name) {
        name -> Text,
        value -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(products -> categories (category_id));
diesel::joinable!(modifiers -> products (product_id));
diesel::joinable!(shifts -> staff (staff_id));
diesel::joinable!(cash_movements -> shifts (shift_id));
diesel::joinable!(orders -> dining_tables (table_id));
diesel::joinable!(orders -> shifts (shift_id));
diesel::joinable!(order_items -> orders (order_id));
diesel::joinable!(order_items -> products (product_id));
diesel::joinable!(payments -> orders (order_id));
diesel::joinable!(refunds -> payments (payment_id));
diesel::joinable!(print_jobs -> orders (order_id));

diesel::table! {
    receipt_counter (id) {
        id -> Int2,
        last_number -> Int8,
    }
}

diesel::table! {
    receipts (order_id) {
        order_id -> Uuid,
        number -> Int8,
        issued_at -> Timestamptz,
        fiscal_document_number -> Nullable<Text>,
        fiscal_verification_code -> Nullable<Text>,
        fiscal_qr_payload -> Nullable<Text>,
    }
}

diesel::joinable!(receipts -> orders (order_id));

diesel::table! {
    stock_movements (id) {
        id -> Uuid,
        product_id -> Uuid,
        kind -> Text,
        delta -> Int4,
        stock_after -> Nullable<Int4>,
        reason -> Text,
        staff_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(stock_movements -> products (product_id));

diesel::table! {
    /// Items sold per product per UTC hour of close (kept by the order store).
    item_sales_hourly (hour, product_id) {
        hour -> Timestamptz,
        product_id -> Uuid,
        quantity -> Int8,
        gross -> Int8,
        sales -> Int8,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    staff,
    terminals,
    login_attempts,
    account_locks,
    audit_log,
    settings,
    dining_tables,
    categories,
    products,
    modifiers,
    menu_version,
    shifts,
    cash_movements,
    z_reports,
    order_number_counters,
    orders,
    receipt_counter,
    receipts,
    order_items,
    payments,
    refunds,
    idempotency_records,
    events,
    print_jobs,
    backups,
    app_secrets,
    stock_movements,
    item_sales_hourly,
);
