/// A provider's base URL, split into the parts a connection needs.
///
/// Only `http` and `https` with a host are accepted; user info, a query or a fragment are refused because a base
/// URL must not carry them (credentials go in `api_key`). The path is kept without its trailing slash, so request
/// paths are appended as `basePath + "/v1/messages"`.
public struct UpstreamURL: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https` (lowercased).
    public var scheme: String
    /// The host name or IP address; an IPv6 address without its brackets.
    public var host: String
    /// The port: as written, else 443 for `https` and 80 for `http`.
    public var port: Int
    /// The path prefix without a trailing slash, `""` when there is none (e.g. `/v1`).
    public var basePath: String

    /// Why a text is not an acceptable upstream URL.
    public struct ParseError: Error, Hashable, CustomStringConvertible {
        /// What is wrong with it.
        public var reason: String

        public var description: String { self.reason }
    }

    /// Creates a URL from its parts.
    ///
    /// - Parameters:
    ///   - scheme: `http` or `https`.
    ///   - host: The host; an IPv6 address without brackets.
    ///   - port: The port; defaults to the scheme's.
    ///   - basePath: The path prefix without a trailing slash.
    public init(scheme: String, host: String, port: Int? = nil, basePath: String = "") {
        self.scheme = scheme
        self.host = host
        self.port = port ?? (scheme == "https" ? 443 : 80)
        self.basePath = basePath
    }

    /// Parses `scheme://host[:port][/path]`.
    ///
    /// - Parameter text: The URL text.
    /// - Throws: ``ParseError`` naming what is wrong: no or another scheme, no host, a bad port, user info, a query
    ///   or fragment, or whitespace.
    public init(parsing text: String) throws(ParseError) {
        func fail(_ reason: String) -> ParseError { ParseError(reason: "malformed URL '\(text)': \(reason)") }

        guard !text.isEmpty else { throw ParseError(reason: "malformed URL: it is empty") }
        guard !text.contains(where: { $0.isWhitespace }) else { throw fail("it contains whitespace") }
        guard let schemeEnd = text.firstRange(of: "://") else {
            throw fail("no scheme (expected http:// or https://)")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw fail("unsupported scheme '\(scheme)' (expected http or https)")
        }
        if text.contains("?") { throw fail("a base URL cannot have a query ('?…')") }
        if text.contains("#") { throw fail("a base URL cannot have a fragment ('#…')") }

        let rest = text[schemeEnd.upperBound...]
        let authority = rest.prefix(while: { $0 != "/" })
        var path = rest[authority.endIndex...]
        if authority.contains("@") { throw fail("user info is not allowed (put credentials in api_key)") }

        var host: Substring
        var portText: Substring? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw fail("unclosed '[' in an IPv6 host") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let afterHost = authority[authority.index(after: close)...]
            if !afterHost.isEmpty {
                guard afterHost.hasPrefix(":") else { throw fail("unexpected text after the IPv6 host") }
                portText = afterHost.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw fail("invalid IPv6 host '\(host)'")
            }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw fail("no host") }
            let allowed = host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }
            guard allowed else { throw fail("invalid host '\(host)'") }
        }

        var port: Int? = nil
        if let portText {
            guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(portText),
                (1...65535).contains(number)
            else {
                throw fail("bad port '\(portText)' (expected 1-65535)")
            }
            port = number
        }
        while path.hasSuffix("/") {
            path = path.dropLast()
        }
        self.init(scheme: scheme, host: String(host), port: port, basePath: String(path))
    }

    /// Whether connections use TLS (`https`).
    public var usesTLS: Bool {
        self.scheme == "https"
    }

    /// The port is the scheme's default.
    private var hasDefaultPort: Bool {
        self.port == (self.usesTLS ? 443 : 80)
    }

    /// The host as written in a URL or `Host` header (IPv6 in brackets), with `:port` unless it is the default.
    public var hostHeader: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return self.hasDefaultPort ? host : "\(host):\(self.port)"
    }

    /// The normalised URL text: `scheme://host[:port]basePath`.
    public var string: String {
        "\(self.scheme)://\(self.hostHeader)\(self.basePath)"
    }

    public var description: String { self.string }
}
