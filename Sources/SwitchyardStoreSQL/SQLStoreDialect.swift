/// Everything that differs between the SQL databases the store runs on, in one place.
///
/// The rest of the store writes SQL that SQLite (3.35+) and PostgreSQL both accept: `BIGINT`/`TEXT`
/// columns, booleans as `0`/`1` integers, times as Unix milliseconds in `BIGINT`, `INSERT … ON CONFLICT (id)
/// DO NOTHING`, `UPDATE … RETURNING`. Placeholders are SQLKit binds, rendered by each driver's dialect.
struct SQLStoreDialect: Sendable {
    /// A name for messages.
    var name: String

    /// Statements run once on every new connection, in order.
    var connectionSetup: [String]

    /// Opens a transaction that writes. SQLite's `BEGIN IMMEDIATE` takes the write lock at once, so two
    /// writers wait for each other (up to `busy_timeout`) instead of failing when a read lock would have to
    /// be upgraded.
    var beginWrite: String

    /// Statements that open the migration transaction and make concurrent migrators wait for each other.
    /// (PostgreSQL will add `SELECT pg_advisory_xact_lock(…)` after `BEGIN`.)
    var beginMigration: [String]

    /// SQLite: WAL so that readers never block the writer, 5 s `busy_timeout` because the CLI and the
    /// servers write to the same file, and foreign keys enforced. `synchronous = NORMAL` is the usual WAL
    /// setting: a committed batch survives a crash of the process; only a power loss or kernel crash can roll
    /// back the last commits (never corrupt the file).
    static let sqlite = SQLStoreDialect(
        name: "SQLite",
        connectionSetup: [
            // First, so that switching the journal mode waits for a lock held by another process.
            "PRAGMA busy_timeout = 5000",
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = ON",
        ],
        beginWrite: "BEGIN IMMEDIATE",
        beginMigration: ["BEGIN IMMEDIATE"]
    )
}
