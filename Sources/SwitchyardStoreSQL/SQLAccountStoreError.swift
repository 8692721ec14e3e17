/// Why a ``SQLAccountStore`` could not be opened or could not do what was asked.
public struct SQLAccountStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case unsupportedURL(String)
        case postgresUnavailable
        case shutDown
        case amountOutOfRange(String)
        case schemaTooNew(found: Int, supported: Int)
        case malformedRow(String)
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// The storage URL is neither `sqlite:PATH`, `sqlite::memory:` nor `postgres://…`.
    public static func unsupportedURL(_ url: String) -> Self { Self(.unsupportedURL(url)) }

    /// A `postgres://` URL was given; this build has no PostgreSQL driver yet.
    public static let postgresUnavailable = Self(.postgresUnavailable)

    /// The store was used after ``SQLAccountStore/shutdown()``.
    public static let shutDown = Self(.shutDown)

    /// A credit change would take a balance outside the representable range (±9.2 billion USD).
    public static func amountOutOfRange(keyID: String) -> Self { Self(.amountOutOfRange(keyID)) }

    /// The database was migrated by a newer Switchyard than this one.
    public static func schemaTooNew(found: Int, supported: Int) -> Self {
        Self(.schemaTooNew(found: found, supported: supported))
    }

    /// A stored row could not be read back (a column holds an unexpected value).
    public static func malformedRow(_ detail: String) -> Self { Self(.malformedRow(detail)) }

    public var description: String {
        switch code {
        case .unsupportedURL(let url):
            "unsupported storage url \"\(url)\": use sqlite:PATH, sqlite::memory: or postgres://USER:PASS@HOST:PORT/DB"
        case .postgresUnavailable:
            "PostgreSQL storage is not available in this build yet; use storage.url: \"sqlite:PATH\""
        case .shutDown:
            "the account store has been shut down"
        case .amountOutOfRange(let keyID):
            "the balance of \(keyID) would leave the representable range (about ±9.2 billion USD)"
        case .schemaTooNew(let found, let supported):
            "the database schema is at version \(found), newer than this build supports (\(supported)); "
                + "upgrade switchyard"
        case .malformedRow(let detail):
            "malformed row in storage: \(detail)"
        }
    }
}
