import NIOCore
import NIOSSL
import SwitchyardConfig

/// Where an upstream request goes: scheme, host and port, plus the TLS trust it needs.
///
/// Connections are pooled per origin, so two providers on the same host with different trust settings
/// never share a connection.
public struct UpstreamOrigin: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var useTLS: Bool
    /// Identifies the trust configuration (the CA file, or "" for the system roots).
    public var trustID: String

    public init(host: String, port: Int, useTLS: Bool, trustID: String = "") {
        self.host = host
        self.port = port
        self.useTLS = useTLS
        self.trustID = trustID
    }

    /// The `Host` header value: the port is left out when it is the scheme's default.
    public var hostHeader: String {
        let defaultPort = useTLS ? 443 : 80
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == defaultPort ? bracketed : "\(bracketed):\(port)"
    }

    public var description: String { "\(useTLS ? "https" : "http")://\(hostHeader)" }

    /// The origin of a configured provider's base URL, with its TLS trust.
    public init(provider: ProviderConfig) {
        let url = provider.baseURL
        self.init(host: url.host, port: url.port, useTLS: url.scheme == "https", trustID: provider.tls?.caFile ?? "")
    }
}

/// TLS client contexts, built once at start-up (building one reads certificates from disk).
public struct UpstreamTLSContexts: Sendable {
    private var contexts: [String: NIOSSLContext] = [:]

    public init() {}

    /// Returns the context for `caFile` (nil: the system trust roots), building it on first use.
    public mutating func context(caFile: String?) throws -> NIOSSLContext {
        let id = caFile ?? ""
        if let existing = contexts[id] { return existing }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            configuration.trustRoots = .file(caFile)
        }
        configuration.applicationProtocols = ["http/1.1"]
        let context = try NIOSSLContext(configuration: configuration)
        contexts[id] = context
        return context
    }

    func context(trustID: String) -> NIOSSLContext? { contexts[trustID] }
}
