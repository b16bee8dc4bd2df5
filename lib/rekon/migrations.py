"""The schema, as the named forward migrations that build it. `Store` applies the ones a file
has not had, each in its own transaction, and records them in `schema_version`. A migration,
once released, is never edited: a change is a new migration at the end.
"""

# The result classes of DESIGN.md, in the order reports list them.
RESULT_CLASSES = ("matched", "amount_mismatch", "status_mismatch", "missing_in_ledger",
                  "missing_in_provider", "duplicate_in_ledger", "ambiguous", "unpaid")  # fmt: skip
# The classes since round 2: a refund netted to zero, and a line a saved rule excludes (both
# information, like unpaid). The schema's own enum (result_class_v2) is written out in its
# migration, which never changes.
RESULT_CLASSES_V2 = (*RESULT_CLASSES, "refunded", "excluded")
# Since settlements: a paid order whose payout is not due yet (information), or overdue.
RESULT_CLASSES_V3 = (*RESULT_CLASSES_V2, "awaiting_settlement", "settlement_late")

MIGRATIONS: list[tuple[str, str]] = [
    (
        "orders and fetch runs",
        """
        CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
        CREATE SEQUENCE fetch_run_id;
        CREATE TABLE fetch_runs (
            id BIGINT PRIMARY KEY DEFAULT nextval('fetch_run_id'),
            providers VARCHAR NOT NULL,
            range_from DATE NOT NULL,
            range_to DATE NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            status VARCHAR NOT NULL,          -- running | succeeded | failed
            orders_seen BIGINT DEFAULT 0,
            orders_new BIGINT DEFAULT 0,
            orders_updated BIGINT DEFAULT 0,
            orders_unchanged BIGINT DEFAULT 0,
            per_provider JSON,
            error VARCHAR,
            requested_by VARCHAR
        );
        CREATE TABLE orders (
            provider VARCHAR NOT NULL,
            order_id VARCHAR NOT NULL,
            merchant_ref VARCHAR,
            payment_id VARCHAR,
            amount DECIMAL(18, 2) NOT NULL,
            currency VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            provider_status VARCHAR,
            created_at TIMESTAMP NOT NULL,    -- UTC
            updated_at TIMESTAMP,             -- UTC
            paid_at TIMESTAMP,                -- UTC
            business_date DATE NOT NULL,      -- created_at's date in the configured timezone
            customer_name VARCHAR,
            customer_email VARCHAR,
            customer_phone VARCHAR,
            description VARCHAR,
            raw VARCHAR,                      -- the provider's JSON, as received
            first_fetch_run BIGINT,
            last_fetch_run BIGINT,
            PRIMARY KEY (provider, order_id)
        );
        CREATE TABLE audit_log (
            logged_at TIMESTAMP NOT NULL,
            actor VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            subject VARCHAR NOT NULL,
            detail JSON
        );
        """,
    ),
    (
        "ledgers, reconciliation runs, results and reviews",
        """
        CREATE SEQUENCE ledger_id;
        CREATE TABLE ledgers (
            id BIGINT PRIMARY KEY DEFAULT nextval('ledger_id'),
            name VARCHAR NOT NULL,
            file_name VARCHAR NOT NULL,
            content_hash VARCHAR NOT NULL,
            imported_at TIMESTAMP NOT NULL,
            imported_by VARCHAR,
            mapping JSON NOT NULL,
            format JSON NOT NULL,
            lines_total BIGINT NOT NULL,
            lines_imported BIGINT NOT NULL,
            lines_rejected BIGINT NOT NULL,
            amount_total DECIMAL(18, 2) NOT NULL,
            date_from DATE,
            date_to DATE,
            rejected JSON
        );
        CREATE TABLE ledger_lines (
            ledger_id BIGINT NOT NULL,
            line_no BIGINT NOT NULL,          -- the line number in the file, header included
            entry_date DATE NOT NULL,
            reference VARCHAR,
            description VARCHAR,
            amount DECIMAL(18, 2) NOT NULL,
            currency VARCHAR NOT NULL,
            provider VARCHAR,
            email VARCHAR,
            PRIMARY KEY (ledger_id, line_no)
        );
        CREATE TABLE ledger_mappings (
            name VARCHAR PRIMARY KEY,
            mapping JSON NOT NULL,
            saved_at TIMESTAMP NOT NULL
        );
        CREATE SEQUENCE recon_run_id;
        CREATE TABLE recon_runs (
            id BIGINT PRIMARY KEY DEFAULT nextval('recon_run_id'),
            period_from DATE NOT NULL,
            period_to DATE NOT NULL,
            ledger_ids BIGINT[] NOT NULL,
            amount_tolerance DECIMAL(18, 2) NOT NULL,
            date_window INTEGER NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            run_by VARCHAR,
            counts JSON
        );
        CREATE TABLE recon_results (
            run_id BIGINT NOT NULL,
            result_key VARCHAR NOT NULL,      -- stable across re-runs: reviews attach here
            result VARCHAR NOT NULL,
            rule VARCHAR,
            provider VARCHAR,
            order_id VARCHAR,
            ledger_id BIGINT,
            line_no BIGINT,
            order_amount DECIMAL(18, 2),
            ledger_amount DECIMAL(18, 2),
            difference DECIMAL(18, 2),
            business_date DATE,
            ledger_date DATE,
            anchor_date DATE NOT NULL
        );
        CREATE TABLE reviews (
            result_key VARCHAR NOT NULL,
            seq BIGINT NOT NULL,
            decision VARCHAR NOT NULL,        -- accepted | resolved | reopened
            note VARCHAR,
            reviewer VARCHAR NOT NULL,
            reviewed_at TIMESTAMP NOT NULL,
            run_id BIGINT,
            PRIMARY KEY (result_key, seq)
        );
        CREATE INDEX recon_results_run ON recon_results (run_id);
        """,
    ),
    (
        "compact reconciliation results",
        # A run writes a row per order and line, so the row is kept small: classes and rules
        # are enums, and the key, difference and anchor date are computed when read. The run
        # index went too: a run's rows are contiguous, so DuckDB's zone maps find them.
        f"""
        CREATE TYPE result_class AS ENUM ({", ".join(f"'{c}'" for c in RESULT_CLASSES)});
        CREATE TYPE match_rule AS ENUM ('order_id', 'payment_id', 'merchant_ref', 'amount_date');
        CREATE TABLE recon_results_v3 (
            run_id BIGINT NOT NULL,
            result result_class NOT NULL,
            rule match_rule,
            provider VARCHAR,
            order_id VARCHAR,
            ledger_id BIGINT,
            line_no BIGINT,
            order_amount DECIMAL(18, 2),
            ledger_amount DECIMAL(18, 2),
            business_date DATE,
            ledger_date DATE,
            difference DECIMAL(18, 2) AS (ledger_amount - order_amount),
            anchor_date DATE AS (coalesce(business_date, ledger_date)),
            -- stable across re-runs: reviews attach here
            result_key VARCHAR AS (
                CASE WHEN result = 'duplicate_in_ledger'
                         THEN 'D:' || ledger_id || ':' || line_no
                     WHEN order_id IS NOT NULL THEN 'O:' || provider || ':' || order_id
                     ELSE 'L:' || ledger_id || ':' || line_no END)
        );
        INSERT INTO recon_results_v3 (run_id, result, rule, provider, order_id, ledger_id,
            line_no, order_amount, ledger_amount, business_date, ledger_date)
        SELECT run_id, result, rule, provider, order_id, ledger_id, line_no, order_amount,
               ledger_amount, business_date, ledger_date
        FROM recon_results ORDER BY run_id;
        DROP INDEX recon_results_run;
        DROP TABLE recon_results;
        ALTER TABLE recon_results_v3 RENAME TO recon_results;
        """,
    ),
    (
        "where the lines of a corrected ledger went",
        # A corrected re-export replaces a ledger, and its lines get new keys. Each line of a
        # replaced ledger that carried on points at its line in the ledger in use now, so runs
        # from before and after a correction compare line by line. No primary key: a correction
        # writes one row per line, and the pairing already makes them unique.
        """
        CREATE TABLE ledger_line_moves (
            ledger_id BIGINT NOT NULL,
            line_no BIGINT NOT NULL,
            to_ledger BIGINT NOT NULL,
            to_line BIGINT NOT NULL
        );
        """,
    ),
    (
        "manual matches, breaks, declined suggestions and saved rules",
        # A reviewer's pairs and breaks, kept by result keys; a removal is a row of its own, so
        # nothing is updated or deleted. Results are rebuilt (a generated key column blocks
        # altering them): the group a row belongs to, the reason a group's difference has,
        # two new classes, and the rule as text ('manual', later a saved rule's name).
        """
        CREATE SEQUENCE manual_match_id;
        CREATE TABLE manual_matches (
            id BIGINT PRIMARY KEY DEFAULT nextval('manual_match_id'),
            kind VARCHAR NOT NULL,            -- match | break
            order_keys VARCHAR[] NOT NULL,    -- O:provider:order_id
            line_keys VARCHAR[] NOT NULL,     -- L:ledger:line, as keyed when made
            reason VARCHAR,                   -- fee, rounding, partial_payment, write_off, other
            note VARCHAR,
            difference DECIMAL(18, 2),        -- lines − orders, when made
            made_by VARCHAR NOT NULL,
            made_at TIMESTAMP NOT NULL
        );
        CREATE TABLE manual_match_removals (
            match_id BIGINT PRIMARY KEY,
            removed_by VARCHAR NOT NULL,
            removed_at TIMESTAMP NOT NULL,
            note VARCHAR NOT NULL
        );
        CREATE TABLE suggestion_declines (  -- a declined suggestion is never made again
            order_keys VARCHAR[] NOT NULL,    -- sorted
            line_keys VARCHAR[] NOT NULL,
            declined_by VARCHAR NOT NULL,
            declined_at TIMESTAMP NOT NULL,
            note VARCHAR
        );
        CREATE SEQUENCE match_rule_id;
        CREATE TABLE match_rules (            -- saved rules, applied in their position's order
            id BIGINT PRIMARY KEY DEFAULT nextval('match_rule_id'),
            name VARCHAR NOT NULL,
            position INTEGER NOT NULL,
            field VARCHAR NOT NULL,           -- description | reference
            pattern VARCHAR NOT NULL,
            regex BOOLEAN NOT NULL,
            provider VARCHAR,
            min_amount DECIMAL(18, 2),
            max_amount DECIMAL(18, 2),
            action VARCHAR NOT NULL,          -- excluded | fee | rounding
            made_by VARCHAR NOT NULL,
            made_at TIMESTAMP NOT NULL
        );
        CREATE TABLE match_rule_removals (
            rule_id BIGINT PRIMARY KEY,
            removed_by VARCHAR NOT NULL,
            removed_at TIMESTAMP NOT NULL
        );
        CREATE TYPE result_class_v2 AS ENUM ('matched', 'amount_mismatch', 'status_mismatch',
            'missing_in_ledger', 'missing_in_provider', 'duplicate_in_ledger', 'ambiguous',
            'unpaid', 'refunded', 'excluded');
        CREATE TABLE recon_results_v4 (
            run_id BIGINT NOT NULL,
            result result_class_v2 NOT NULL,
            rule VARCHAR,                     -- a tier, 'manual', or a saved rule's name
            provider VARCHAR,
            order_id VARCHAR,
            ledger_id BIGINT,
            line_no BIGINT,
            order_amount DECIMAL(18, 2),
            ledger_amount DECIMAL(18, 2),
            business_date DATE,
            ledger_date DATE,
            group_id BIGINT,                  -- a manual match's id; below 0, a refund's
            reason VARCHAR,                   -- why a group's sums differ
            difference DECIMAL(18, 2) AS (ledger_amount - order_amount),
            anchor_date DATE AS (coalesce(business_date, ledger_date)),
            result_key VARCHAR AS (
                CASE WHEN result = 'duplicate_in_ledger'
                         THEN 'D:' || ledger_id || ':' || line_no
                     WHEN order_id IS NOT NULL THEN 'O:' || provider || ':' || order_id
                     ELSE 'L:' || ledger_id || ':' || line_no END)
        );
        INSERT INTO recon_results_v4 (run_id, result, rule, provider, order_id, ledger_id,
            line_no, order_amount, ledger_amount, business_date, ledger_date)
        SELECT run_id, result::VARCHAR, rule::VARCHAR, provider, order_id, ledger_id, line_no,
               order_amount, ledger_amount, business_date, ledger_date
        FROM recon_results ORDER BY run_id;
        DROP TABLE recon_results;
        ALTER TABLE recon_results_v4 RENAME TO recon_results;
        """,
    ),
    (
        "sign-offs, their lapses and reopens",
        """
        CREATE SEQUENCE signoff_id;
        CREATE TABLE signoffs (               -- one per sign-off; a period's versions count up
            id BIGINT PRIMARY KEY DEFAULT nextval('signoff_id'),
            period_from DATE NOT NULL,
            period_to DATE NOT NULL,
            version INTEGER NOT NULL,
            run_id BIGINT NOT NULL,
            signed_by VARCHAR NOT NULL,
            signed_at TIMESTAMP NOT NULL,     -- UTC
            note VARCHAR,
            open_exceptions BIGINT NOT NULL,  -- exceptions still open when it was signed
            classes JSON NOT NULL,            -- per result class: count and amounts
            ledgers JSON NOT NULL,            -- the run's ledgers: id, name, SHA-256
            orders BIGINT NOT NULL,
            fingerprint VARCHAR NOT NULL      -- SHA-256 over the period's orders
        );
        CREATE TABLE signoff_events (         -- what befell a sign-off afterwards, never edited
            signoff_id BIGINT NOT NULL,
            event VARCHAR NOT NULL,           -- lapsed | reopened
            happened_at TIMESTAMP NOT NULL,
            actor VARCHAR NOT NULL,
            reason VARCHAR,
            fetch_run BIGINT                  -- the fetch that brought a lapse's changes
        );
        CREATE TABLE lapsed_orders (          -- each order change that lapsed a sign-off
            signoff_id BIGINT NOT NULL,
            fetch_run BIGINT NOT NULL,
            provider VARCHAR NOT NULL,
            order_id VARCHAR NOT NULL,
            old_amount DECIMAL(18, 2),        -- NULL: the order was not there at sign-off
            new_amount DECIMAL(18, 2),
            old_status VARCHAR,
            new_status VARCHAR,
            old_updated_at TIMESTAMP,
            new_updated_at TIMESTAMP
        );
        """,
    ),
    (
        "the dashboard's fetch schedules",
        """
        CREATE TABLE fetch_schedules (        -- the latest row per provider is in force
            provider VARCHAR NOT NULL,
            every_hours INTEGER,              -- every N hours, or
            daily_at VARCHAR,                 -- HH:MM in the configured timezone; both NULL: off
            window_days INTEGER NOT NULL,     -- the last D business days, today included
            set_by VARCHAR NOT NULL,
            set_at TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        "settlements, their payments, the rate card and settlement results",
        # Payouts as the gateways report them (the Durianpay API, or an uploaded report for
        # Xepeng), each batch of them a source with the business dates it covers: an order
        # without a settlement is overdue only where a source covered its due date. Results
        # are rebuilt once more (two classes; each order's fee, net amount and settlement).
        f"""
        CREATE SEQUENCE settlement_source_id;
        CREATE TABLE settlement_sources (
            id BIGINT PRIMARY KEY DEFAULT nextval('settlement_source_id'),
            provider VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,            -- api | report
            fetch_run BIGINT,                 -- api: the fetch that brought it
            name VARCHAR,                     -- report: its name, file and SHA-256
            file_name VARCHAR,
            content_hash VARCHAR,
            covered_from DATE NOT NULL,       -- settlement dates it covers (business dates)
            covered_to DATE NOT NULL,
            settlements BIGINT NOT NULL,
            payments BIGINT NOT NULL,
            added_by VARCHAR NOT NULL,
            added_at TIMESTAMP NOT NULL
        );
        CREATE TABLE settlements (
            provider VARCHAR NOT NULL,
            settlement_id VARCHAR NOT NULL,
            settled_at TIMESTAMP NOT NULL,    -- UTC
            settled_date DATE NOT NULL,       -- its business date
            gross DECIMAL(18, 2),
            fee DECIMAL(18, 2),
            promo DECIMAL(18, 2),
            net DECIMAL(18, 2) NOT NULL,
            status VARCHAR,
            raw VARCHAR,                      -- as received (api)
            source_id BIGINT NOT NULL,
            PRIMARY KEY (provider, settlement_id)
        );
        CREATE TABLE settlement_payments (    -- replaced whole with their settlement
            provider VARCHAR NOT NULL,
            settlement_id VARCHAR NOT NULL,
            payment_id VARCHAR,
            order_id VARCHAR,
            order_reference VARCHAR,
            gross DECIMAL(18, 2) NOT NULL,
            fee DECIMAL(18, 2) NOT NULL,
            net DECIMAL(18, 2) NOT NULL,
            payment_date TIMESTAMP,           -- UTC
            settled_at TIMESTAMP NOT NULL,    -- UTC
            method VARCHAR,
            source_id BIGINT NOT NULL
        );
        CREATE TABLE fee_rates (              -- the latest row per provider and method rules
            provider VARCHAR NOT NULL,
            method VARCHAR NOT NULL,          -- a payment method id, or * for any
            percent DECIMAL(9, 4) NOT NULL,
            fixed DECIMAL(18, 2) NOT NULL,
            vat DECIMAL(9, 4) NOT NULL,       -- on the fee, in percent
            set_by VARCHAR NOT NULL,
            set_at TIMESTAMP NOT NULL
        );
        CREATE TABLE settlement_results (
            run_id BIGINT NOT NULL,
            provider VARCHAR NOT NULL,
            settlement_id VARCHAR NOT NULL,
            settled_at TIMESTAMP NOT NULL,
            gross DECIMAL(18, 2),
            fee DECIMAL(18, 2),
            net DECIMAL(18, 2) NOT NULL,
            orders BIGINT NOT NULL,
            result VARCHAR NOT NULL,          -- SETTLEMENT_RESULTS in classes.py
            ledger_id BIGINT,                 -- its deposit
            line_no BIGINT,
            expected_fee DECIMAL(18, 2),      -- by the rate card, where it has the method
            overcharged DECIMAL(18, 2),       -- fees above the card's, beyond a rupiah a payment
            overcharged_payments VARCHAR[],
            anchor_date DATE NOT NULL         -- its first order's business date
        );
        ALTER TABLE fetch_runs ADD COLUMN what VARCHAR;
        ALTER TABLE fetch_schedules ADD COLUMN what VARCHAR;
        CREATE TYPE result_class_v3 AS ENUM ({", ".join(f"'{c}'" for c in RESULT_CLASSES_V3)});
        CREATE TABLE recon_results_v5 (
            run_id BIGINT NOT NULL,
            result result_class_v3 NOT NULL,
            rule VARCHAR,
            provider VARCHAR,
            order_id VARCHAR,
            ledger_id BIGINT,
            line_no BIGINT,
            order_amount DECIMAL(18, 2),
            ledger_amount DECIMAL(18, 2),
            business_date DATE,
            ledger_date DATE,
            group_id BIGINT,
            reason VARCHAR,
            fee DECIMAL(18, 2),               -- the gateway's fee on the order, where known
            net_amount DECIMAL(18, 2),
            settlement_id VARCHAR,
            difference DECIMAL(18, 2) AS (ledger_amount - order_amount),
            anchor_date DATE AS (coalesce(business_date, ledger_date)),
            result_key VARCHAR AS (
                CASE WHEN result = 'duplicate_in_ledger'
                         THEN 'D:' || ledger_id || ':' || line_no
                     WHEN order_id IS NOT NULL THEN 'O:' || provider || ':' || order_id
                     ELSE 'L:' || ledger_id || ':' || line_no END)
        );
        INSERT INTO recon_results_v5 (run_id, result, rule, provider, order_id, ledger_id,
            line_no, order_amount, ledger_amount, business_date, ledger_date, group_id, reason)
        SELECT run_id, result::VARCHAR, rule, provider, order_id, ledger_id, line_no,
               order_amount, ledger_amount, business_date, ledger_date, group_id, reason
        FROM recon_results ORDER BY run_id;
        DROP TABLE recon_results;
        ALTER TABLE recon_results_v5 RENAME TO recon_results;
        """,
    ),
]
