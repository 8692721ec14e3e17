/// The `storage` section: where keys, credits and usage live.
public struct StorageSettings: Sendable, Equatable {
    /// The database URL (`url`). Default `sqlite:switchyard.db`.
    ///
    /// Accepted forms: `sqlite:PATH` (a file, relative to the working directory unless absolute),
    /// `sqlite::memory:` (a private in-memory database, for tests), and `postgres://user:pass@host:5432/db`
    /// (`postgresql://` also). Any other scheme is a configuration error.
    public var url: String

    /// Creates storage settings.
    ///
    /// - Parameter url: The database URL; defaults to `sqlite:switchyard.db`.
    public init(url: String = "sqlite:switchyard.db") {
        self.url = url
    }

    /// The database kind the URL names, or `nil` if the URL is not one of the accepted forms.
    public var kind: StorageKind? {
        if self.url.hasPrefix("sqlite:") { return .sqlite }
        if self.url.hasPrefix("postgres://") || self.url.hasPrefix("postgresql://") { return .postgres }
        return nil
    }

    /// For a `sqlite:` URL, the path after the prefix (`:memory:` for an in-memory database); otherwise `nil`.
    public var sqlitePath: String? {
        guard self.url.hasPrefix("sqlite:") else { return nil }
        return String(self.url.dropFirst("sqlite:".count))
    }

    /// Whether the URL names a private in-memory SQLite database (`sqlite::memory:`).
    public var isInMemory: Bool {
        self.sqlitePath == ":memory:"
    }

    /// Why `url` is not acceptable, or `nil` if it is.
    static func problem(with url: String) -> String? {
        if url.hasPrefix("sqlite:") {
            let path = url.dropFirst("sqlite:".count)
            return path.isEmpty ? "'sqlite:' needs a file path, e.g. 'sqlite:switchyard.db' or 'sqlite::memory:'" : nil
        }
        for scheme in ["postgres://", "postgresql://"] where url.hasPrefix(scheme) {
            // [user[:password]@]host[:port][/database][?options]
            var rest = url.dropFirst(scheme.count)
            if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                rest = rest[..<slash]
            }
            if let at = rest.lastIndex(of: "@") {
                rest = rest[rest.index(after: at)...]
            }
            let hostPort = rest
            var host = hostPort
            if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
                host = hostPort[..<colon]
                let port = hostPort[hostPort.index(after: colon)...]
                guard let number = Int(port), (1...65535).contains(number) else {
                    return "malformed PostgreSQL URL: bad port '\(port)'"
                }
            }
            if host.isEmpty {
                return "malformed PostgreSQL URL: no host (expected postgres://user:pass@host:5432/db)"
            }
            if url.contains(where: \.isWhitespace) {
                return "malformed PostgreSQL URL: contains whitespace"
            }
            return nil
        }
        let scheme = url.firstIndex(of: ":").map { String(url[..<$0]) } ?? url
        return "unsupported storage URL scheme '\(scheme)' (expected sqlite:PATH, sqlite::memory: or postgres://…)"
    }
}

/// A storage backend kind; a struct with static members so kinds can be added.
public struct StorageKind: Sendable, Hashable, CustomStringConvertible {
    /// The kind's name.
    public let rawValue: String

    private init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// SQLite, a file or in memory.
    public static let sqlite = StorageKind("sqlite")
    /// PostgreSQL.
    public static let postgres = StorageKind("postgres")

    public var description: String { self.rawValue }
}
