-- Receipt numbers run without gaps across the venue: the one counter row is taken inside the
-- transaction that closes an order, so a close that rolls back gives its number back.
CREATE TABLE receipt_counter (
    id smallint PRIMARY KEY CHECK (id = 1),
    last_number bigint NOT NULL CHECK (last_number >= 0)
);
INSERT INTO receipt_counter (id, last_number) VALUES (1, 0);

-- One receipt per closed order; fiscal columns stay empty until a fiscal device answers.
CREATE TABLE receipts (
    order_id uuid PRIMARY KEY REFERENCES orders (id),
    number bigint NOT NULL UNIQUE CHECK (number > 0),
    issued_at timestamptz NOT NULL,
    fiscal_document_number text,
    fiscal_verification_code text,
    fiscal_qr_payload text
);
