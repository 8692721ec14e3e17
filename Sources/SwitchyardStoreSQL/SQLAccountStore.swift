import Foundation
import Logging
import SQLKit
import SwitchyardAccounts

/// The ``AccountStore`` on SQL through SQLKit: SQLite now (`sqlite:PATH`, `sqlite::memory:`), PostgreSQL
/// in a later issue.
///
/// SQLite files are opened in WAL mode with a 5 s `busy_timeout` and foreign keys on, so that the CLI can
/// change keys and credits while servers run on the same file. Money is stored as integer nano-dollars
/// (`credits_nano`, `cost_nano`), times as Unix milliseconds, model lists as JSON text.
///
/// Usage: `let store = try await SQLAccountStore.open(url: "sqlite:switchyard.db", logger: logger)`,
/// then `try await store.migrate()`, and `try await store.shutdown()` when done: shutting down is required
/// (it closes the connection and stops the store's thread; SQLiteNIO asserts on a connection left open).
///
/// Operations are serialized on the store's one connection and run to completion once begun, even if the
/// calling task is cancelled meanwhile.
public final class SQLAccountStore: AccountStore {
    private let backend: any SQLStoreBackend
    private let logger: Logger

    private init(backend: any SQLStoreBackend, logger: Logger) {
        self.backend = backend
        self.logger = logger
    }

    /// Opens the database that `url` names (the configuration's `storage.url`).
    ///
    /// - Parameters:
    ///   - url: `sqlite:PATH` (relative to the working directory unless absolute; `sqlite://PATH` also
    ///     works), or `sqlite::memory:` for a private database that vanishes at ``shutdown()``.
    ///     `postgres://…` is recognized but not available in this build.
    ///   - logger: Receives connection events; statements are logged at trace level.
    /// - Throws: ``SQLAccountStoreError`` for an unusable URL; the driver's error if the file cannot be opened.
    public static func open(url: String, logger: Logger) async throws -> SQLAccountStore {
        let location = try StorageLocation(url: url)
        let backend = try await SQLiteBackend.open(location, logger: logger)
        return SQLAccountStore(backend: backend, logger: logger)
    }

    // MARK: - Schema

    public func migrate() async throws {
        let dialect = backend.dialect
        let logger = self.logger
        try await backend.withSession { db in
            try await Self.inTransaction(db, begin: dialect.beginMigration) {
                try await db.execute(sql: SQLRaw(SQLMigrations.createLedger)) { _ in }
                let rows = try await db.raw("SELECT version FROM schema_migrations").all()
                let applied = Set(try rows.map { try $0.decode(column: "version", as: Int.self) })
                if let newest = applied.max(), newest > SQLMigrations.latestVersion {
                    throw SQLAccountStoreError.schemaTooNew(found: newest, supported: SQLMigrations.latestVersion)
                }
                for migration in SQLMigrations.all where !applied.contains(migration.version) {
                    logger.info(
                        "applying storage migration",
                        metadata: [
                            "switchyard.migration": "\(migration.version)",
                            "switchyard.migration.summary": "\(migration.summary)",
                        ])
                    for statement in migration.statements {
                        try await db.execute(sql: SQLRaw(statement)) { _ in }
                    }
                    try await db.raw(
                        """
                        INSERT INTO schema_migrations (version, applied_at)
                        VALUES (\(bind: migration.version), \(bind: Self.millis(Date())))
                        """
                    ).run()
                }
            }
        }
    }

    // MARK: - Keys

    public func createKey(_ key: APIKeyRecord) async throws {
        let models = try Self.encodeModels(key.models)
        let now = Self.millis(Date())
        try await write { db in
            try await db.raw(
                """
                INSERT INTO api_keys (id, name, key_hash, key_prefix, credits_nano, rpm, tpm, models, disabled,
                    created_at, updated_at)
                VALUES (\(bind: key.id), \(bind: key.name), \(bind: key.hash), \(bind: key.prefix),
                    \(bind: key.credits.nanos), \(bind: key.rpm.map(Int64.init)), \(bind: key.tpm.map(Int64.init)),
                    \(bind: models), \(bind: Int64(key.disabled ? 1 : 0)), \(bind: Self.millis(key.createdAt)),
                    \(bind: now))
                """
            ).run()
        }
    }

    public func key(id: String) async throws -> APIKeyRecord? {
        try await read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.keyColumns) FROM api_keys WHERE id = \(bind: id)")
                .first().map(Self.decodeKey)
        }
    }

    public func key(hash: String) async throws -> APIKeyRecord? {
        try await read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.keyColumns) FROM api_keys WHERE key_hash = \(bind: hash)")
                .first().map(Self.decodeKey)
        }
    }

    public func listKeys() async throws -> [APIKeyRecord] {
        try await read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.keyColumns) FROM api_keys ORDER BY created_at, id")
                .all().map(Self.decodeKey)
        }
    }

    public func setDisabled(id: String, _ disabled: Bool) async throws -> Bool {
        let now = Self.millis(Date())
        return try await write { db in
            try await db.raw(
                """
                UPDATE api_keys SET disabled = \(bind: Int64(disabled ? 1 : 0)), updated_at = \(bind: now)
                WHERE id = \(bind: id) RETURNING id
                """
            ).first() != nil
        }
    }

    public func addCredits(id: String, _ amount: Money) async throws -> Money? {
        let now = Self.millis(Date())
        return try await write { db in
            guard
                let current = try await db.raw("SELECT credits_nano FROM api_keys WHERE id = \(bind: id)").first()
            else { return nil }
            let (_, overflow) = try current.decode(column: "credits_nano", as: Int64.self)
                .addingReportingOverflow(amount.nanos)
            if overflow { throw SQLAccountStoreError.amountOutOfRange(keyID: id) }
            // SQL-side arithmetic: correct even against a writer that does not share our transaction mode.
            let updated = try await db.raw(
                """
                UPDATE api_keys SET credits_nano = credits_nano + \(bind: amount.nanos), updated_at = \(bind: now)
                WHERE id = \(bind: id) RETURNING credits_nano
                """
            ).first()
            return try updated.map { Money(nanos: try $0.decode(column: "credits_nano", as: Int64.self)) }
        }
    }

    public func setLimits(id: String, rpm: Int??, tpm: Int??, models: [String]??) async throws -> Bool {
        var assignments = SQLQueryString("updated_at = \(bind: Self.millis(Date()))")
        if let rpm { assignments.appendInterpolation(SQLQueryString(", rpm = \(bind: rpm.map(Int64.init))")) }
        if let tpm { assignments.appendInterpolation(SQLQueryString(", tpm = \(bind: tpm.map(Int64.init))")) }
        if let models {
            assignments.appendInterpolation(SQLQueryString(", models = \(bind: try Self.encodeModels(models))"))
        }
        let setClause = assignments
        return try await write { db in
            try await db.raw("UPDATE api_keys SET \(setClause) WHERE id = \(bind: id) RETURNING id").first() != nil
        }
    }

    // MARK: - Usage

    /// Rows per multi-row `INSERT`: 18 binds each stays far below every driver's bind limit.
    private static let insertChunk = 200

    private static let usageColumns = [
        "id", "key_id", "model", "provider", "upstream_model", "input_tokens", "output_tokens", "cache_read_tokens",
        "cache_write_tokens", "cost_nano", "status", "latency_ms", "ttft_ms", "stream", "error_type", "moderation",
        "attempts", "created_at",
    ]

    /// One `usage_records` row, in ``usageColumns`` order.
    private static func usageRow(_ record: UsageRecord) -> [StoreValue] {
        [
            .text(record.id), .text(record.keyID), .text(record.model), .text(record.provider),
            .text(record.upstreamModel), .int(record.usage.input), .int(record.usage.output),
            .int(record.usage.cacheRead), .int(record.usage.cacheWrite), .integer(record.cost.nanos),
            .int(record.status), .int(record.latencyMs), .optionalInt(record.ttftMs),
            .int(record.stream ? 1 : 0), .optionalText(record.errorType), .optionalText(record.moderation),
            .optionalText(record.attempts.isEmpty ? nil : record.attempts.jsonText), .integer(millis(record.createdAt)),
        ]
    }

    public func record(_ records: [UsageRecord]) async throws -> [String] {
        guard !records.isEmpty else { return [] }
        let now = Self.millis(Date())
        let backend = self.backend
        return try await write { db in
            var inserted: [String] = []
            inserted.reserveCapacity(records.count)
            var deductions: [String: Money] = [:]
            var start = records.startIndex
            while start < records.endIndex {
                let chunk = records[start..<Swift.min(start + Self.insertChunk, records.endIndex)]
                start = chunk.endIndex
                // ON CONFLICT … DO NOTHING skips ids already stored (and repeats within the batch);
                // RETURNING lists exactly the rows that went in.
                let ids = try await backend.insertNew(
                    into: "usage_records", columns: Self.usageColumns, rows: chunk.map(Self.usageRow), in: db)
                var firstByID: [String: UsageRecord] = [:]
                for record in chunk where firstByID[record.id] == nil { firstByID[record.id] = record }
                for id in ids {
                    guard let record = firstByID[id] else { continue }
                    inserted.append(id)
                    deductions[record.keyID, default: .zero] += record.cost
                }
            }
            // SQL-side arithmetic inside the same transaction: atomic against every other writer.
            for (keyID, amount) in deductions.sorted(by: { $0.key < $1.key }) where amount != .zero {
                try await db.raw(
                    """
                    UPDATE api_keys SET credits_nano = credits_nano - \(bind: amount.nanos), updated_at = \(bind: now)
                    WHERE id = \(bind: keyID)
                    """
                ).run()
            }
            return inserted
        }
    }

    public func usage(keyID: String?, since: Date?) async throws -> [UsageRecord] {
        var query = SQLQueryString(
            """
            SELECT id, key_id, model, provider, upstream_model, input_tokens, output_tokens, cache_read_tokens,
                cache_write_tokens, cost_nano, status, latency_ms, ttft_ms, stream, error_type, moderation, attempts,
                created_at
            FROM usage_records WHERE 1 = 1
            """)
        if let keyID { query.appendInterpolation(SQLQueryString(" AND key_id = \(bind: keyID)")) }
        if let since { query.appendInterpolation(SQLQueryString(" AND created_at >= \(bind: Self.millis(since))")) }
        query.appendLiteral(" ORDER BY created_at, id")
        let statement = query
        return try await read { db in
            try await db.raw(statement).all().map(Self.decodeUsage)
        }
    }

    // MARK: - Lifecycle

    public func ping() async throws {
        try await read { db in
            _ = try await db.raw("SELECT 1 AS ok").first()
        }
    }

    public func shutdown() async throws {
        try await backend.close()
    }

    // MARK: - Plumbing

    private func read<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await backend.withSession(body)
    }

    /// Runs `body` in one write transaction: committed if it returns, rolled back if it throws.
    private func write<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        let begin = [backend.dialect.beginWrite]
        return try await backend.withSession { db in
            try await Self.inTransaction(db, begin: begin) { try await body(db) }
        }
    }

    private static func inTransaction<Result: Sendable>(
        _ db: any SQLDatabase, begin: [String], _ body: () async throws -> Result
    ) async throws -> Result {
        for statement in begin {
            try await db.execute(sql: SQLRaw(statement)) { _ in }
        }
        do {
            let result = try await body()
            try await db.execute(sql: SQLRaw("COMMIT")) { _ in }
            return result
        } catch {
            try? await db.execute(sql: SQLRaw("ROLLBACK")) { _ in }
            throw error
        }
    }

    private static let keyColumns =
        "id, name, key_hash, key_prefix, credits_nano, rpm, tpm, models, disabled, created_at"

    private static func decodeKey(_ row: any SQLRow) throws -> APIKeyRecord {
        APIKeyRecord(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            hash: try row.decode(column: "key_hash", as: String.self),
            prefix: try row.decode(column: "key_prefix", as: String.self),
            credits: Money(nanos: try row.decode(column: "credits_nano", as: Int64.self)),
            rpm: try optionalInt(row, "rpm"),
            tpm: try optionalInt(row, "tpm"),
            models: try decodeModels(try optionalString(row, "models")),
            disabled: try row.decode(column: "disabled", as: Int64.self) != 0,
            createdAt: date(millis: try row.decode(column: "created_at", as: Int64.self))
        )
    }

    private static func decodeUsage(_ row: any SQLRow) throws -> UsageRecord {
        func int(_ column: String) throws -> Int { Int(try row.decode(column: column, as: Int64.self)) }
        return UsageRecord(
            id: try row.decode(column: "id", as: String.self),
            keyID: try row.decode(column: "key_id", as: String.self),
            model: try row.decode(column: "model", as: String.self),
            provider: try row.decode(column: "provider", as: String.self),
            upstreamModel: try row.decode(column: "upstream_model", as: String.self),
            usage: TokenUsage(
                input: try int("input_tokens"), output: try int("output_tokens"),
                cacheRead: try int("cache_read_tokens"), cacheWrite: try int("cache_write_tokens")),
            cost: Money(nanos: try row.decode(column: "cost_nano", as: Int64.self)),
            status: try int("status"),
            latencyMs: try int("latency_ms"),
            ttftMs: try optionalInt(row, "ttft_ms"),
            stream: try int("stream") != 0,
            errorType: try optionalString(row, "error_type"),
            moderation: try optionalString(row, "moderation"),
            attempts: decodeAttempts(try optionalString(row, "attempts")),
            createdAt: date(millis: try row.decode(column: "created_at", as: Int64.self))
        )
    }

    /// The stored attempts (see `[UpstreamAttempt].jsonText`); unreadable entries are left out.
    static func decodeAttempts(_ text: String?) -> [UpstreamAttempt] {
        guard let text, let data = text.data(using: .utf8),
              let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        else { return [] }
        return list.compactMap { entry in
            guard let provider = entry["provider"] as? String, let model = entry["model"] as? String,
                  let upstreamModel = entry["upstream_model"] as? String, let outcome = entry["outcome"] as? String
            else { return nil }
            return UpstreamAttempt(
                provider: provider, model: model, upstreamModel: upstreamModel, outcome: outcome,
                latencyMs: (entry["latency_ms"] as? NSNumber)?.intValue ?? 0)
        }
    }

    private static func optionalInt(_ row: any SQLRow, _ column: String) throws -> Int? {
        try row.decodeNil(column: column) ? nil : Int(try row.decode(column: column, as: Int64.self))
    }

    private static func optionalString(_ row: any SQLRow, _ column: String) throws -> String? {
        try row.decodeNil(column: column) ? nil : try row.decode(column: column, as: String.self)
    }

    private static func encodeModels(_ models: [String]?) throws -> String? {
        guard let models else { return nil }
        return String(decoding: try JSONEncoder().encode(models), as: UTF8.self)
    }

    private static func decodeModels(_ text: String?) throws -> [String]? {
        guard let text else { return nil }
        do {
            return try JSONDecoder().decode([String].self, from: Data(text.utf8))
        } catch {
            throw SQLAccountStoreError.malformedRow("api_keys.models is not a JSON array of strings: \(text)")
        }
    }

    /// Milliseconds since 1970, to the nearest: the stored form of every time. (Nearest, not down, so that
    /// a time read back from storage maps to the same millisecond again.)
    static func millis(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func date(millis: Int64) -> Date {
        Date(timeIntervalSince1970: Double(millis) / 1000)
    }
}
