import Logging
import SQLKit
import SQLiteKit
import SQLiteNIO
import SwitchyardAccounts
import Synchronization

/// Where a storage URL points.
enum StorageLocation: Equatable {
    /// An SQLite file, relative to the working directory unless absolute.
    case sqliteFile(String)
    /// A private in-memory SQLite database, gone at shutdown.
    case sqliteMemory
    /// A PostgreSQL server (not in this build).
    case postgres

    /// Parses `sqlite:PATH`, `sqlite://PATH`, `sqlite::memory:` and `postgres://…` / `postgresql://…`.
    init(url: String) throws {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            self = .postgres
            return
        }
        guard url.hasPrefix("sqlite:") else { throw SQLAccountStoreError.unsupportedURL(url) }
        var path = Substring(url.dropFirst("sqlite:".count))
        if path.hasPrefix("//") { path = path.dropFirst(2) }
        if path == ":memory:" {
            self = .sqliteMemory
        } else if path.isEmpty {
            throw SQLAccountStoreError.unsupportedURL(url)
        } else {
            self = .sqliteFile(String(path))
        }
    }
}

/// A database connection the store can run statements on, one operation at a time.
protocol SQLStoreBackend: Sendable {
    /// The SQL differences of this database.
    var dialect: SQLStoreDialect { get }

    /// Runs `body` with exclusive use of a session (one connection) for its whole duration, so that a
    /// transaction's statements are not interleaved with anyone else's.
    ///
    /// Once begun, `body` runs to its end even if the calling task is cancelled: a transaction abandoned
    /// halfway (its `ROLLBACK` refused as cancelled too) would leave the connection inside it.
    func withSession<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result

    /// Inserts `rows` (values in `columns` order) into `table`, whose primary key is a text `id`, skipping every row
    /// whose `id` is already stored (and repeats within `rows`; the first one goes in), and returns the ids of the
    /// rows that went in. Call it only from inside ``withSession(_:)``'s body with the session's `db`: it runs on
    /// that session's connection, inside the body's transaction.
    ///
    /// This is the usage write, the one statement run for every request: it binds plain values straight into
    /// the driver, skipping SQLKit's per-value `Encodable` conversion and statement serialization, which cost
    /// about as much CPU as the rest of the write together.
    func insertNew(
        into table: String, columns: [String], rows: [[StoreValue]], in db: any SQLDatabase
    ) async throws -> [String]

    /// Closes the connection(s) once the current operation finished; later calls throw `.shutDown`.
    func close() async throws
}

/// A value bound into a statement by ``SQLStoreBackend/insertNew(into:columns:rows:in:)``.
enum StoreValue: Sendable, Equatable {
    case integer(Int64)
    case text(String)
    case null

    /// `.integer` of an `Int`.
    static func int(_ value: Int) -> StoreValue { .integer(Int64(value)) }

    /// `.text`, or `.null` for `nil`.
    static func optionalText(_ value: String?) -> StoreValue { value.map(StoreValue.text) ?? .null }

    /// `.integer`, or `.null` for `nil`.
    static func optionalInt(_ value: Int?) -> StoreValue { value.map(int) ?? .null }
}

/// SQLite through SQLiteNIO: one connection per store, its operations serialized in arrival order, on a
/// one-thread pool of its own.
///
/// One connection is what SQLite wants: it allows one writer at a time anyway. Other connections to the same
/// file (the CLI, other servers, another store in this process) are coordinated by SQLite's file locks and
/// the 5 s `busy_timeout`, whose wait blocks the calling thread: hence a private thread per store. On
/// NIO's shared blocking pool (as many threads as cores) a few stores waiting for the lock could occupy
/// every thread, including the one the lock holder needs to finish its transaction.
final class SQLiteBackend: SQLStoreBackend {
    let dialect = SQLStoreDialect.sqlite
    private let connection: SQLiteConnection
    private let threadPool: NIOThreadPool
    private let database: any SQLDatabase
    private let gate = AsyncSerialGate()
    private let closed = Mutex(false)

    private init(connection: SQLiteConnection, threadPool: NIOThreadPool) {
        self.connection = connection
        self.threadPool = threadPool
        // Statements are logged at trace: they carry key hashes and amounts, never secrets.
        self.database = connection.sql(queryLogLevel: .trace)
    }

    /// Opens the connection and applies the dialect's per-connection settings.
    static func open(_ location: StorageLocation, logger: Logger) async throws -> SQLiteBackend {
        let storage: SQLiteConnection.Storage
        switch location {
        case .sqliteFile(let path): storage = .file(path: path)
        case .sqliteMemory: storage = .memory
        case .postgres: throw SQLAccountStoreError.postgresUnavailable
        }
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(
                storage: storage, threadPool: threadPool, logger: logger,
                on: MultiThreadedEventLoopGroup.singleton.any())
        } catch {
            try? await threadPool.shutdownGracefully()
            throw error
        }
        let backend = SQLiteBackend(connection: connection, threadPool: threadPool)
        do {
            for statement in backend.dialect.connectionSetup {
                try await backend.database.execute(sql: SQLRaw(statement)) { _ in }
            }
        } catch {
            try? await connection.close()
            try? await threadPool.shutdownGracefully()
            throw error
        }
        return backend
    }

    func withSession<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        // SQLiteNIO drops work submitted from a cancelled task (CancellationError): run in a task of our own,
        // which the caller's cancellation does not reach, and wait for it.
        try await Task {
            try await self.gate.withGate {
                guard !self.closed.withLock({ $0 }) else { throw SQLAccountStoreError.shutDown }
                return try await body(self.database)
            }
        }.value
    }

    func insertNew(
        into table: String, columns: [String], rows: [[StoreValue]], in db: any SQLDatabase
    ) async throws -> [String] {
        guard !rows.isEmpty else { return [] }
        let placeholders = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let sql = """
            INSERT INTO \(table) (\(columns.joined(separator: ", ")))
            VALUES \(Array(repeating: placeholders, count: rows.count).joined(separator: ", "))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """
        var binds: [SQLiteData] = []
        binds.reserveCapacity(rows.count * columns.count)
        for row in rows {
            precondition(row.count == columns.count, "a row's values must match the columns")
            for value in row {
                switch value {
                case .integer(let integer): binds.append(.integer(SQLiteInt64(integer)))
                case .text(let text): binds.append(.text(text))
                case .null: binds.append(.null)
                }
            }
        }
        // The caller holds the session (the gate), so the connection is ours until its body returns.
        return try await connection.query(sql, binds).map { row in
            guard case .text(let id)? = row.column("id") else {
                // Unreachable with the schema (`id TEXT PRIMARY KEY`); thrown so that the transaction rolls back
                // rather than keep a row whose cost would never be deducted.
                throw SQLAccountStoreError.malformedRow("an inserted usage row's id is not text")
            }
            return id
        }
    }

    func close() async throws {
        try await Task { try await self.closeNow() }.value
    }

    private func closeNow() async throws {
        try await gate.withGate {
            let wasClosed = closed.withLock { closed in
                defer { closed = true }
                return closed
            }
            guard !wasClosed else { return }
            do {
                try await connection.close()
            } catch {
                try? await threadPool.shutdownGracefully()
                throw error
            }
            try await threadPool.shutdownGracefully()
        }
    }
}
