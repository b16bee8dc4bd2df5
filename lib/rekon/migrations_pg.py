"""The same named migrations as `migrations.py`, in PostgreSQL's own dialect, for a store kept in
PostgreSQL. DuckDB reads and writes the tables this builds, but cannot create PostgreSQL's keys,
sequences, enums or generated columns through an attached database, so the DDL is PostgreSQL's.

Each entry matches the one of the same position and name in `MIGRATIONS` (a test holds them
together); what differs is only how PostgreSQL spells it. DuckDB's zone maps find a run's rows
without an index; PostgreSQL needs one, so the results keep theirs here. JSON is kept as text:
DuckDB writes its updates to PostgreSQL as text, which a `json` column refuses. A result's class
is text checked against the enum rather than the enum itself: DuckDB hands a filter on a text
column down to PostgreSQL (only a run's exceptions cross the wire), but not one on an enum.
"""

from rekon.migrations import MIGRATIONS, RESULT_CLASSES, RESULT_CLASSES_V3

# A result key, as the DuckDB schema computes it; PostgreSQL wants immutable casts to text.
_RESULT_KEY = """
            result_key VARCHAR GENERATED ALWAYS AS (
                CASE WHEN result = 'duplicate_in_ledger'
                         THEN 'D:' || ledger_id::text || ':' || line_no::text
                     WHEN order_id IS NOT NULL THEN 'O:' || provider || ':' || order_id
                     ELSE 'L:' || ledger_id::text || ':' || line_no::text END) STORED"""
_DERIVED = """
            difference DECIMAL(18, 2) GENERATED ALWAYS AS (ledger_amount - order_amount) STORED,
            anchor_date DATE GENERATED ALWAYS AS (coalesce(business_date, ledger_date)) STORED,"""

PG_MIGRATIONS: list[tuple[str, str]] = [
    (
        MIGRATIONS[0][0],
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
            status VARCHAR NOT NULL,
            orders_seen BIGINT DEFAULT 0,
            orders_new BIGINT DEFAULT 0,
            orders_updated BIGINT DEFAULT 0,
            orders_unchanged BIGINT DEFAULT 0,
            per_provider VARCHAR,
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
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP,
            paid_at TIMESTAMP,
            business_date DATE NOT NULL,
            customer_name VARCHAR,
            customer_email VARCHAR,
            customer_phone VARCHAR,
            description VARCHAR,
            raw VARCHAR,
            first_fetch_run BIGINT,
            last_fetch_run BIGINT,
            PRIMARY KEY (provider, order_id)
        );
        CREATE INDEX orders_business_date ON orders (business_date);
        CREATE TABLE audit_log (
            logged_at TIMESTAMP NOT NULL,
            actor VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            subject VARCHAR NOT NULL,
            detail VARCHAR
        );
        """,
    ),
    (
        MIGRATIONS[1][0],
        """
        CREATE SEQUENCE ledger_id;
        CREATE TABLE ledgers (
            id BIGINT PRIMARY KEY DEFAULT nextval('ledger_id'),
            name VARCHAR NOT NULL,
            file_name VARCHAR NOT NULL,
            content_hash VARCHAR NOT NULL,
            imported_at TIMESTAMP NOT NULL,
            imported_by VARCHAR,
            mapping VARCHAR NOT NULL,
            format VARCHAR NOT NULL,
            lines_total BIGINT NOT NULL,
            lines_imported BIGINT NOT NULL,
            lines_rejected BIGINT NOT NULL,
            amount_total DECIMAL(18, 2) NOT NULL,
            date_from DATE,
            date_to DATE,
            rejected VARCHAR
        );
        CREATE TABLE ledger_lines (
            ledger_id BIGINT NOT NULL,
            line_no BIGINT NOT NULL,
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
            mapping VARCHAR NOT NULL,
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
            counts VARCHAR
        );
        CREATE TABLE recon_results (
            run_id BIGINT NOT NULL,
            result_key VARCHAR NOT NULL,
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
            decision VARCHAR NOT NULL,
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
        MIGRATIONS[2][0],
        f"""
        CREATE TYPE result_class AS ENUM ({", ".join(f"'{c}'" for c in RESULT_CLASSES)});
        CREATE TYPE match_rule AS ENUM ('order_id', 'payment_id', 'merchant_ref', 'amount_date');
        CREATE TABLE recon_results_v3 (
            run_id BIGINT NOT NULL,
            result VARCHAR NOT NULL CHECK (result::result_class IS NOT NULL),
            rule VARCHAR CHECK (rule::match_rule IS NOT NULL),
            provider VARCHAR,
            order_id VARCHAR,
            ledger_id BIGINT,
            line_no BIGINT,
            order_amount DECIMAL(18, 2),
            ledger_amount DECIMAL(18, 2),
            business_date DATE,
            ledger_date DATE,{_DERIVED}{_RESULT_KEY}
        );
        INSERT INTO recon_results_v3 (run_id, result, rule, provider, order_id, ledger_id,
            line_no, order_amount, ledger_amount, business_date, ledger_date)
        SELECT run_id, result, rule, provider, order_id, ledger_id,
               line_no, order_amount, ledger_amount, business_date, ledger_date
        FROM recon_results ORDER BY run_id;
        DROP TABLE recon_results;
        ALTER TABLE recon_results_v3 RENAME TO recon_results;
        CREATE INDEX recon_results_run ON recon_results (run_id);
        """,
    ),
    (
        MIGRATIONS[3][0],
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
        MIGRATIONS[4][0],
        f"""
        CREATE SEQUENCE manual_match_id;
        CREATE TABLE manual_matches (
            id BIGINT PRIMARY KEY DEFAULT nextval('manual_match_id'),
            kind VARCHAR NOT NULL,
            order_keys VARCHAR[] NOT NULL,
            line_keys VARCHAR[] NOT NULL,
            reason VARCHAR,
            note VARCHAR,
            difference DECIMAL(18, 2),
            made_by VARCHAR NOT NULL,
            made_at TIMESTAMP NOT NULL
        );
        CREATE TABLE manual_match_removals (
            match_id BIGINT PRIMARY KEY,
            removed_by VARCHAR NOT NULL,
            removed_at TIMESTAMP NOT NULL,
            note VARCHAR NOT NULL
        );
        CREATE TABLE suggestion_declines (
            order_keys VARCHAR[] NOT NULL,
            line_keys VARCHAR[] NOT NULL,
            declined_by VARCHAR NOT NULL,
            declined_at TIMESTAMP NOT NULL,
            note VARCHAR
        );
        CREATE SEQUENCE match_rule_id;
        CREATE TABLE match_rules (
            id BIGINT PRIMARY KEY DEFAULT nextval('match_rule_id'),
            name VARCHAR NOT NULL,
            position INTEGER NOT NULL,
            field VARCHAR NOT NULL,
            pattern VARCHAR NOT NULL,
            regex BOOLEAN NOT NULL,
            provider VARCHAR,
            min_amount DECIMAL(18, 2),
            max_amount DECIMAL(18, 2),
            action VARCHAR NOT NULL,
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
            result VARCHAR NOT NULL CHECK (result::result_class_v2 IS NOT NULL),
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
            reason VARCHAR,{_DERIVED}{_RESULT_KEY}
        );
        INSERT INTO recon_results_v4 (run_id, result, rule, provider, order_id, ledger_id,
            line_no, order_amount, ledger_amount, business_date, ledger_date)
        SELECT run_id, result, rule, provider, order_id,
               ledger_id, line_no, order_amount, ledger_amount, business_date, ledger_date
        FROM recon_results ORDER BY run_id;
        DROP TABLE recon_results;
        ALTER TABLE recon_results_v4 RENAME TO recon_results;
        CREATE INDEX recon_results_run ON recon_results (run_id);
        """,
    ),
    (
        MIGRATIONS[5][0],
        """
        CREATE SEQUENCE signoff_id;
        CREATE TABLE signoffs (
            id BIGINT PRIMARY KEY DEFAULT nextval('signoff_id'),
            period_from DATE NOT NULL,
            period_to DATE NOT NULL,
            version INTEGER NOT NULL,
            run_id BIGINT NOT NULL,
            signed_by VARCHAR NOT NULL,
            signed_at TIMESTAMP NOT NULL,
            note VARCHAR,
            open_exceptions BIGINT NOT NULL,
            classes VARCHAR NOT NULL,
            ledgers VARCHAR NOT NULL,
            orders BIGINT NOT NULL,
            fingerprint VARCHAR NOT NULL
        );
        CREATE TABLE signoff_events (
            signoff_id BIGINT NOT NULL,
            event VARCHAR NOT NULL,
            happened_at TIMESTAMP NOT NULL,
            actor VARCHAR NOT NULL,
            reason VARCHAR,
            fetch_run BIGINT
        );
        CREATE TABLE lapsed_orders (
            signoff_id BIGINT NOT NULL,
            fetch_run BIGINT NOT NULL,
            provider VARCHAR NOT NULL,
            order_id VARCHAR NOT NULL,
            old_amount DECIMAL(18, 2),
            new_amount DECIMAL(18, 2),
            old_status VARCHAR,
            new_status VARCHAR,
            old_updated_at TIMESTAMP,
            new_updated_at TIMESTAMP
        );
        """,
    ),
    (
        MIGRATIONS[6][0],
        """
        CREATE TABLE fetch_schedules (
            provider VARCHAR NOT NULL,
            every_hours INTEGER,
            daily_at VARCHAR,
            window_days INTEGER NOT NULL,
            set_by VARCHAR NOT NULL,
            set_at TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        MIGRATIONS[7][0],
        f"""
        CREATE SEQUENCE settlement_source_id;
        CREATE TABLE settlement_sources (
            id BIGINT PRIMARY KEY DEFAULT nextval('settlement_source_id'),
            provider VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            fetch_run BIGINT,
            name VARCHAR,
            file_name VARCHAR,
            content_hash VARCHAR,
            covered_from DATE NOT NULL,
            covered_to DATE NOT NULL,
            settlements BIGINT NOT NULL,
            payments BIGINT NOT NULL,
            added_by VARCHAR NOT NULL,
            added_at TIMESTAMP NOT NULL
        );
        CREATE TABLE settlements (
            provider VARCHAR NOT NULL,
            settlement_id VARCHAR NOT NULL,
            settled_at TIMESTAMP NOT NULL,
            settled_date DATE NOT NULL,
            gross DECIMAL(18, 2),
            fee DECIMAL(18, 2),
            promo DECIMAL(18, 2),
            net DECIMAL(18, 2) NOT NULL,
            status VARCHAR,
            raw VARCHAR,
            source_id BIGINT NOT NULL,
            PRIMARY KEY (provider, settlement_id)
        );
        CREATE TABLE settlement_payments (
            provider VARCHAR NOT NULL,
            settlement_id VARCHAR NOT NULL,
            payment_id VARCHAR,
            order_id VARCHAR,
            order_reference VARCHAR,
            gross DECIMAL(18, 2) NOT NULL,
            fee DECIMAL(18, 2) NOT NULL,
            net DECIMAL(18, 2) NOT NULL,
            payment_date TIMESTAMP,
            settled_at TIMESTAMP NOT NULL,
            method VARCHAR,
            source_id BIGINT NOT NULL
        );
        CREATE INDEX settlement_payments_of ON settlement_payments (provider, settlement_id);
        CREATE TABLE fee_rates (
            provider VARCHAR NOT NULL,
            method VARCHAR NOT NULL,
            percent DECIMAL(9, 4) NOT NULL,
            fixed DECIMAL(18, 2) NOT NULL,
            vat DECIMAL(9, 4) NOT NULL,
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
            result VARCHAR NOT NULL,
            ledger_id BIGINT,
            line_no BIGINT,
            expected_fee DECIMAL(18, 2),
            overcharged DECIMAL(18, 2),
            overcharged_payments VARCHAR[],
            anchor_date DATE NOT NULL
        );
        CREATE INDEX settlement_results_run ON settlement_results (run_id);
        ALTER TABLE fetch_runs ADD COLUMN what VARCHAR;
        ALTER TABLE fetch_schedules ADD COLUMN what VARCHAR;
        CREATE TYPE result_class_v3 AS ENUM ({", ".join(f"'{c}'" for c in RESULT_CLASSES_V3)});
        ALTER TABLE recon_results DROP CONSTRAINT recon_results_v4_result_check;
        ALTER TABLE recon_results ADD COLUMN fee DECIMAL(18, 2),
            ADD COLUMN net_amount DECIMAL(18, 2), ADD COLUMN settlement_id VARCHAR,
            ADD CONSTRAINT recon_results_result_v3 CHECK (result::result_class_v3 IS NOT NULL);
        """,
    ),
]
