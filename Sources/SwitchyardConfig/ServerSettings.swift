/// The `server` section: where the gateway listens and how much it accepts.
public struct ServerSettings: Sendable, Equatable {
    /// The address to bind (`host`). Default `127.0.0.1`; use `0.0.0.0` to listen on every interface.
    public var host: String
    /// The TCP port (`port`). Default `8080`; `0` asks the system for a free port.
    public var port: Int
    /// The largest request body accepted, in bytes (`max_body_bytes`); larger ones get 413. Default 32 MiB
    /// (`33_554_432`).
    public var maxBodyBytes: Int
    /// How long a shutdown waits for in-flight streams to finish, in seconds (`shutdown_grace_s`). Default `30`.
    public var shutdownGraceSeconds: Double

    /// Creates server settings; every argument defaults to the documented default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        maxBodyBytes: Int = 33_554_432,
        shutdownGraceSeconds: Double = 30
    ) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.shutdownGraceSeconds = shutdownGraceSeconds
    }
}

/// The `admin` section.
public struct AdminSettings: Sendable, Equatable {
    /// The bearer token that enables `/admin/*` (`token`). Default `nil`: the admin API is off. A value that is
    /// empty after `${VAR}` substitution counts as not set.
    public var token: String?

    /// Creates admin settings.
    ///
    /// - Parameter token: The admin bearer token, `nil` (the default) to disable the admin API.
    public init(token: String? = nil) {
        self.token = token
    }
}
