/// One numbered schema change. Versions only grow; a released migration is never edited, only followed.
struct SQLMigration: Sendable {
    /// The version this migration brings the schema to (1, 2, …).
    var version: Int
    /// What it does, for logs.
    var summary: String
    /// The statements, run in order inside the migration transaction.
    var statements: [String]
}

enum SQLMigrations {
    /// The table recording which versions were applied.
    static let createLedger = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            applied_at BIGINT NOT NULL
        )
        """

    /// Every migration, in version order.
    static let all: [SQLMigration] = [
        SQLMigration(
            version: 1,
            summary: "api_keys and usage_records",
            statements: [
                """
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    key_hash TEXT NOT NULL UNIQUE,
                    key_prefix TEXT NOT NULL,
                    credits_nano BIGINT NOT NULL DEFAULT 0,
                    rpm BIGINT,
                    tpm BIGINT,
                    models TEXT,
                    disabled BIGINT NOT NULL DEFAULT 0,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
                // No foreign key to api_keys on purpose: usage is an audit log that must be stored even
                // if its key were ever deleted, and one bad row must never block a whole billing batch.
                """
                CREATE TABLE usage_records (
                    id TEXT PRIMARY KEY,
                    key_id TEXT NOT NULL,
                    model TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    upstream_model TEXT NOT NULL,
                    input_tokens BIGINT NOT NULL DEFAULT 0,
                    output_tokens BIGINT NOT NULL DEFAULT 0,
                    cache_read_tokens BIGINT NOT NULL DEFAULT 0,
                    cache_write_tokens BIGINT NOT NULL DEFAULT 0,
                    cost_nano BIGINT NOT NULL DEFAULT 0,
                    status BIGINT NOT NULL,
                    latency_ms BIGINT NOT NULL,
                    ttft_ms BIGINT,
                    stream BIGINT NOT NULL DEFAULT 0,
                    error_type TEXT,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX usage_records_key_created ON usage_records (key_id, created_at)",
                "CREATE INDEX usage_records_created ON usage_records (created_at)",
            ]
        ),
        SQLMigration(
            version: 2,
            summary: "moderation results on usage_records",
            statements: ["ALTER TABLE usage_records ADD COLUMN moderation TEXT"]
        ),
        SQLMigration(
            version: 3,
            summary: "upstream attempts on usage_records",
            statements: ["ALTER TABLE usage_records ADD COLUMN attempts TEXT"]
        ),
    ]

    /// The newest version this build knows.
    static var latestVersion: Int { all.last?.version ?? 0 }
}
