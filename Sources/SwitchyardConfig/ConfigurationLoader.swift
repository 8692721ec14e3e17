import Foundation
import Yams

extension GatewayConfiguration {
    /// Reads and validates a configuration file.
    ///
    /// - Parameters:
    ///   - path: The YAML file; errors name it as given.
    ///   - environment: The variables `${VAR}` references are resolved from (the executable passes the process
    ///     environment).
    /// - Returns: The configuration.
    /// - Throws: ``ConfigError`` for the first problem in the file (by line), or when the file cannot be read.
    ///   ``validate(contentsOf:environment:)`` lists them all.
    public static func load(contentsOf path: String, environment: [String: String]) throws(ConfigError) -> Self {
        let yaml = try Self.readFile(path)
        return try Self.parse(yaml: yaml, source: path, environment: environment)
    }

    /// Parses and validates configuration text.
    ///
    /// An empty document is the ``defaults``. Every key is checked: unknown keys, wrong types, missing required
    /// keys, unset `${VAR}`s, malformed URLs, unknown provider references, duplicate ids and YAML syntax errors are
    /// all reported with their line.
    ///
    /// - Parameters:
    ///   - yaml: The YAML text.
    ///   - source: The name errors give the text (usually its file name).
    ///   - environment: The variables `${VAR}` references are resolved from.
    /// - Returns: The configuration.
    /// - Throws: ``ConfigError`` for the first problem (by line).
    public static func parse(
        yaml: String,
        source: String = "switchyard.yaml",
        environment: [String: String]
    ) throws(ConfigError) -> Self {
        let (configuration, errors) = Self.read(yaml: yaml, source: source, environment: environment)
        if let first = errors.first {
            throw first
        }
        return configuration
    }

    /// Every problem in configuration text, ordered by line; empty when it is valid.
    ///
    /// - Parameters:
    ///   - yaml: The YAML text.
    ///   - source: The name errors give the text.
    ///   - environment: The variables `${VAR}` references are resolved from.
    /// - Returns: The problems (a YAML syntax error stops the check, so it is then the only one).
    public static func validate(
        yaml: String,
        source: String = "switchyard.yaml",
        environment: [String: String]
    ) -> [ConfigError] {
        Self.read(yaml: yaml, source: source, environment: environment).errors
    }

    /// Every problem in a configuration file, ordered by line; empty when it is valid. For `config check`.
    ///
    /// - Parameters:
    ///   - path: The YAML file.
    ///   - environment: The variables `${VAR}` references are resolved from.
    /// - Returns: The problems, or the one saying the file cannot be read.
    public static func validate(contentsOf path: String, environment: [String: String]) -> [ConfigError] {
        do {
            let yaml = try Self.readFile(path)
            return Self.validate(yaml: yaml, source: path, environment: environment)
        } catch {
            return [error]
        }
    }

    private static func readFile(_ path: String) throws(ConfigError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file"
            throw ConfigError(source: path, line: nil, keyPath: "", message: reason)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(source: path, line: nil, keyPath: "", message: "the file is not valid UTF-8")
        }
        return text
    }

    /// Parses the YAML and walks it, collecting every problem.
    static func read(
        yaml: String,
        source: String,
        environment: [String: String]
    ) -> (configuration: GatewayConfiguration, errors: [ConfigError]) {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            return (GatewayConfiguration(), [Self.syntaxError(error, yaml: yaml, source: source)])
        }
        var reader = ConfigurationReader(source: source, environment: environment)
        let configuration = reader.readConfiguration(root)
        let ordered = reader.errors.enumerated().sorted { lhs, rhs in
            (lhs.element.line ?? .max, lhs.offset) < (rhs.element.line ?? .max, rhs.offset)
        }
        return (configuration, ordered.map(\.element))
    }

    /// Turns a Yams error into a located ``ConfigError``.
    private static func syntaxError(_ error: any Error, yaml: String, source: String) -> ConfigError {
        func located(_ line: Int?, _ message: String) -> ConfigError {
            ConfigError(source: source, line: line, keyPath: "", message: message)
        }
        func detail(_ context: YamlError.Context?, _ problem: String) -> String {
            guard let context else { return "invalid YAML: \(problem)" }
            return "invalid YAML: \(problem) (\(context.text) at line \(context.mark.line))"
        }
        guard let error = error as? YamlError else {
            return located(nil, "invalid YAML: \(error)")
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return located(mark.line, detail(context, problem))
        case .reader(let problem, let offset, _, let text):
            let line = offset.map { offset in 1 + text.prefix(offset).count(where: { $0 == "\n" || $0 == "\r\n" }) }
            return located(line, "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return located(context.mark.line, "duplicate key \(keys) in the same mapping")
        default:
            return located(nil, "invalid YAML: \(error)")
        }
    }
}

/// Walks the composed YAML tree into a ``GatewayConfiguration``, recording every problem with its line.
struct ConfigurationReader {
    let source: String
    let environment: [String: String]
    private(set) var errors: [ConfigError] = []

    init(source: String, environment: [String: String]) {
        self.source = source
        self.environment = environment
    }

    // MARK: - Sections

    static let topLevelKeys = [
        "server", "storage", "admin", "timeouts", "circuit_breaker", "providers", "models", "moderation",
    ]
    static let serverKeys = ["host", "port", "max_body_bytes", "shutdown_grace_s"]
    static let timeoutKeys = ["connect_s", "first_byte_s", "idle_s", "total_s"]
    static let providerKeys = ["id", "kind", "base_url", "api_key", "tls", "timeouts", "openai"]
    static let openAIKeys = ["max_tokens_field", "reasoning", "top_k", "echo_reasoning_content"]
    static let modelKeys = ["id", "aliases", "moderation", "display_name", "endpoints"]
    static let endpointKeys = ["provider", "model", "price", "supports"]
    static let priceKeys = ["input", "output", "cache_read", "cache_write"]
    static let moderationKeys = ["kind", "patterns", "url", "api_key", "model"]

    mutating func readConfiguration(_ root: Node?) -> GatewayConfiguration {
        var configuration = GatewayConfiguration()
        guard let root, let top = self.fields(root, at: "", allowed: Self.topLevelKeys) else {
            return configuration
        }
        configuration.server = self.readServer(top, "server")
        configuration.storage = self.readStorage(top, "storage")
        configuration.admin = self.readAdmin(top, "admin")
        configuration.timeouts = self.readTimeouts(top, "timeouts")
        configuration.circuitBreaker = self.readCircuitBreaker(top, "circuit_breaker")
        configuration.moderation = self.readModeration(top, "moderation")
        configuration.providers = self.readProviders(top, "providers")
        configuration.models = self.readModels(
            top,
            "models",
            moderationConfigured: top["moderation"].map { !Self.isNull($0) } ?? false
        )
        return configuration
    }

    private mutating func readServer(_ parent: Fields, _ key: String) -> ServerSettings {
        var server = ServerSettings()
        guard let fields = self.fields(parent, key, allowed: Self.serverKeys) else { return server }
        if let host = self.string(fields, "host", nonEmpty: true) { server.host = host }
        if let port = self.integer(fields, "port", in: 0...65535, rangeMessage: "must be 0-65535") {
            server.port = port
        }
        if let bytes = self.integer(fields, "max_body_bytes", in: 1...Int.max, rangeMessage: "must be positive") {
            server.maxBodyBytes = bytes
        }
        if let grace = self.number(fields, "shutdown_grace_s", allowZero: true) { server.shutdownGraceSeconds = grace }
        return server
    }

    private mutating func readStorage(_ parent: Fields, _ key: String) -> StorageSettings {
        var storage = StorageSettings()
        guard let fields = self.fields(parent, key, allowed: ["url"]) else { return storage }
        if let url = self.string(fields, "url", nonEmpty: true) {
            if let problem = StorageSettings.problem(with: url) {
                self.report(problem, at: fields.path(of: "url"), node: fields["url"])
            } else {
                storage.url = url
            }
        }
        return storage
    }

    private mutating func readAdmin(_ parent: Fields, _ key: String) -> AdminSettings {
        guard let fields = self.fields(parent, key, allowed: ["token"]) else { return AdminSettings() }
        let token = self.string(fields, "token")
        return AdminSettings(token: token?.isEmpty == false ? token : nil)
    }

    private mutating func readTimeouts(_ parent: Fields, _ key: String) -> Timeouts {
        let overrides = self.readTimeoutOverrides(parent, key)
        return Timeouts().applying(overrides)
    }

    private mutating func readCircuitBreaker(_ parent: Fields, _ key: String) -> CircuitBreakerSettings {
        var settings = CircuitBreakerSettings()
        guard let fields = self.fields(parent, key, allowed: ["failures", "cooldown_s"]) else { return settings }
        if let failures = self.integer(fields, "failures", in: 1...1_000_000, rangeMessage: "must be at least 1") {
            settings.failures = failures
        }
        if let cooldown = self.number(fields, "cooldown_s") { settings.cooldown = cooldown }
        return settings
    }

    private mutating func readTimeoutOverrides(_ parent: Fields, _ key: String) -> TimeoutOverrides? {
        guard parent[key].map({ !Self.isNull($0) }) ?? false,
            let fields = self.fields(parent, key, allowed: Self.timeoutKeys)
        else { return nil }
        return TimeoutOverrides(
            connect: self.number(fields, "connect_s"),
            firstByte: self.number(fields, "first_byte_s"),
            idle: self.number(fields, "idle_s"),
            total: self.number(fields, "total_s")
        )
    }

    private mutating func readProviders(_ parent: Fields, _ key: String) -> [ProviderConfig] {
        var providers: [ProviderConfig] = []
        var seen: [String: (path: String, line: Int?)] = [:]
        for (path, node) in self.list(parent, key) {
            guard let fields = self.fields(node, at: path, allowed: Self.providerKeys, nullIsEmpty: false) else {
                continue
            }
            let id = self.identifier(fields, "id")
            let kindName = self.requiredString(fields, "kind")
            var kind: ProviderKind? = nil
            if let kindName {
                kind = ProviderKind(name: kindName)
                if kind == nil {
                    let known = ProviderKind.allKinds.map(\.rawValue).joined(separator: ", ")
                    self.report("unknown provider kind '\(kindName)' (expected one of: \(known))", at: fields.path(of: "kind"), node: fields["kind"])
                }
            }
            var baseURL: UpstreamURL? = nil
            if let text = self.requiredString(fields, "base_url") {
                do {
                    baseURL = try UpstreamURL(parsing: text)
                } catch {
                    self.report(error.reason, at: fields.path(of: "base_url"), node: fields["base_url"])
                }
            }
            let apiKey = self.headerValue(fields, "api_key") ?? ""
            var tls: TLSSettings? = nil
            if fields["tls"].map({ !Self.isNull($0) }) ?? false,
                let tlsFields = self.fields(fields, "tls", allowed: ["ca_file"])
            {
                tls = TLSSettings(caFile: self.string(tlsFields, "ca_file", nonEmpty: true))
            }
            let timeouts = self.readTimeoutOverrides(fields, "timeouts")
            var openAI = OpenAIOptions()
            if fields["openai"].map({ !Self.isNull($0) }) ?? false {
                if kind != nil && kind != .openai {
                    self.report("'openai' options apply only to providers of kind openai", at: fields.path(of: "openai"), node: fields["openai"])
                } else if let options = self.fields(fields, "openai", allowed: Self.openAIKeys) {
                    if let field = self.string(options, "max_tokens_field", nonEmpty: true) {
                        if ["max_tokens", "max_completion_tokens"].contains(field) {
                            openAI.maxTokensField = field
                        } else {
                            self.report("expected max_tokens or max_completion_tokens, got '\(field)'", at: options.path(of: "max_tokens_field"), node: options["max_tokens_field"])
                        }
                    }
                    if let reasoning = self.string(options, "reasoning", nonEmpty: true) { openAI.reasoning = reasoning }
                    if let topK = self.bool(options, "top_k") { openAI.topK = topK }
                    if let echo = self.bool(options, "echo_reasoning_content") { openAI.echoReasoningContent = echo }
                }
            }

            guard let id else { continue }
            if let first = seen[id] {
                self.report(
                    "duplicate provider id '\(id)' (already defined at \(first.path)\(Self.lineSuffix(first.line)))",
                    at: fields.path(of: "id"),
                    node: fields["id"]
                )
                continue
            }
            seen[id] = (fields.path(of: "id"), fields["id"]?.mark?.line)
            self.knownProviderIDs.append(id)
            guard let kind, let baseURL else { continue }
            providers.append(
                ProviderConfig(id: id, kind: kind, baseURL: baseURL, apiKey: apiKey, tls: tls, timeouts: timeouts, openAI: openAI)
            )
        }
        return providers
    }

    /// Every provider id defined, in file order. Providers with other errors still count, so references to them
    /// are not reported on top of the provider's own error.
    private var knownProviderIDs: [String] = []

    private mutating func readModels(
        _ parent: Fields,
        _ key: String,
        moderationConfigured: Bool
    ) -> [ModelConfig] {
        var models: [ModelConfig] = []
        var names: [String: (path: String, line: Int?)] = [:]
        let known = Set(self.knownProviderIDs)
        let knownList = self.knownProviderIDs.isEmpty
            ? "no providers are configured"
            : "known: " + self.knownProviderIDs.joined(separator: ", ")

        for (path, node) in self.list(parent, key) {
            guard let fields = self.fields(node, at: path, allowed: Self.modelKeys, nullIsEmpty: false) else {
                continue
            }
            let id = self.identifier(fields, "id")
            var uniqueNames: [(name: String, path: String, line: Int?)] = []
            if let id {
                uniqueNames.append((id, fields.path(of: "id"), fields["id"]?.mark?.line))
            }
            var aliases: [String] = []
            for alias in self.stringList(fields, "aliases") {
                aliases.append(alias.value)
                uniqueNames.append((alias.value, alias.path, alias.line))
            }
            for entry in uniqueNames {
                if let first = names[entry.name] {
                    self.report(
                        "'\(entry.name)' is already used by \(first.path)\(Self.lineSuffix(first.line)); model ids and aliases must be unique",
                        at: entry.path,
                        line: entry.line
                    )
                } else {
                    names[entry.name] = (entry.path, entry.line)
                }
            }
            let moderation = self.bool(fields, "moderation") ?? false
            if moderation && !moderationConfigured {
                self.report(
                    "moderation is on but there is no top-level 'moderation' section to say how to check inputs",
                    at: fields.path(of: "moderation"),
                    node: fields["moderation"]
                )
            }
            let displayName = self.string(fields, "display_name", nonEmpty: true)

            var endpoints: [EndpointConfig] = []
            if fields["endpoints"] == nil {
                self.report("missing required key", at: fields.path(of: "endpoints"), line: fields.line)
            } else {
                let items = self.list(fields, "endpoints")
                if items.isEmpty, let node = fields["endpoints"], node.sequence != nil || Self.isNull(node) {
                    self.report("at least one endpoint is required", at: fields.path(of: "endpoints"), node: node)
                }
                for (endpointPath, endpointNode) in items {
                    if let endpoint = self.readEndpoint(endpointNode, endpointPath, known: known, knownList: knownList) {
                        endpoints.append(endpoint)
                    }
                }
            }
            if let id {
                models.append(
                    ModelConfig(id: id, aliases: aliases, moderation: moderation, displayName: displayName, endpoints: endpoints)
                )
            }
        }
        return models
    }

    private mutating func readEndpoint(_ node: Node, _ path: String, known: Set<String>, knownList: String) -> EndpointConfig? {
        guard let fields = self.fields(node, at: path, allowed: Self.endpointKeys, nullIsEmpty: false) else {
            return nil
        }
        let provider = self.requiredString(fields, "provider")
        if let provider, !known.contains(provider) {
            self.report("unknown provider '\(provider)' (\(knownList))", at: fields.path(of: "provider"), node: fields["provider"])
        }
        let model = self.requiredString(fields, "model")
        var price = Price()
        if let priceFields = self.fields(fields, "price", allowed: Self.priceKeys) {
            price.input = self.price(priceFields, "input")
            price.output = self.price(priceFields, "output")
            price.cacheRead = self.price(priceFields, "cache_read")
            price.cacheWrite = self.price(priceFields, "cache_write")
        }
        var supports: Set<Capability> = []
        for item in self.stringList(fields, "supports") {
            if let capability = Capability(name: item.value) {
                supports.insert(capability)
            } else {
                let allowed = Capability.allCapabilities.map(\.rawValue).joined(separator: ", ")
                self.report("unknown capability '\(item.value)' (expected any of: \(allowed))", at: item.path, line: item.line)
            }
        }
        guard let provider, let model else { return nil }
        return EndpointConfig(provider: provider, model: model, price: price, supports: supports)
    }

    private mutating func readModeration(_ parent: Fields, _ key: String) -> ModerationSettings? {
        guard parent[key].map({ !Self.isNull($0) }) ?? false,
            let fields = self.fields(parent, key, allowed: Self.moderationKeys)
        else { return nil }
        var kind: ModerationKind? = nil
        if let name = self.requiredString(fields, "kind") {
            kind = ModerationKind(name: name)
            if kind == nil {
                let known = ModerationKind.allKinds.map(\.rawValue).joined(separator: ", ")
                self.report("unknown moderation kind '\(name)' (expected one of: \(known))", at: fields.path(of: "kind"), node: fields["kind"])
            }
        }
        var patterns: [String] = []
        for pattern in self.stringList(fields, "patterns") {
            do {
                _ = try Regex(pattern.value)
                patterns.append(pattern.value)
            } catch {
                self.report("invalid regular expression '\(pattern.value)': \(error)", at: pattern.path, line: pattern.line)
            }
        }
        var url = self.string(fields, "url", nonEmpty: true)
        if let text = url {
            do {
                _ = try UpstreamURL(parsing: text)
            } catch {
                self.report(error.reason, at: fields.path(of: "url"), node: fields["url"])
                url = nil
            }
        }
        let apiKey = self.headerValue(fields, "api_key")
        let model = self.string(fields, "model", nonEmpty: true)
        guard let kind else { return nil }
        return ModerationSettings(
            kind: kind,
            patterns: patterns,
            url: url,
            apiKey: apiKey?.isEmpty == false ? apiKey : nil,
            model: model
        )
    }

    // MARK: - Mappings and lists

    /// The entries of a mapping whose keys were checked against the allowed ones.
    struct Fields {
        /// The mapping's own key path.
        let path: String
        /// The line the mapping starts on, for "missing key" errors.
        let line: Int?
        var nodes: [String: Node]

        subscript(key: String) -> Node? { self.nodes[key] }

        func path(of key: String) -> String {
            ConfigurationReader.join(self.path, key)
        }
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }

    /// The mapping under `parent[key]`; an absent or null value is an empty mapping.
    private mutating func fields(_ parent: Fields, _ key: String, allowed: [String]) -> Fields? {
        guard let node = parent[key] else {
            return Fields(path: parent.path(of: key), line: parent.line, nodes: [:])
        }
        return self.fields(node, at: parent.path(of: key), allowed: allowed)
    }

    /// Checks that `node` is a mapping with only `allowed` keys (reporting each unknown one) and returns its
    /// entries; `nil` (reported) when it is not a mapping.
    private mutating func fields(_ node: Node, at path: String, allowed: [String], nullIsEmpty: Bool = true) -> Fields? {
        switch node {
        case .mapping(let mapping):
            var nodes: [String: Node] = [:]
            for (key, value) in mapping {
                guard case .scalar(let scalar) = key else {
                    self.report("keys must be plain strings", at: path, node: key)
                    continue
                }
                guard allowed.contains(scalar.string) else {
                    let allowedList = allowed.joined(separator: ", ")
                    self.report(
                        "unknown key '\(scalar.string)' (allowed here: \(allowedList))",
                        at: path,
                        line: scalar.mark?.line
                    )
                    continue
                }
                nodes[scalar.string] = value
            }
            return Fields(path: path, line: mapping.mark?.line, nodes: nodes)
        case .scalar(let scalar) where nullIsEmpty && Self.isNull(node):
            return Fields(path: path, line: scalar.mark?.line, nodes: [:])
        default:
            self.report("expected a mapping, got \(Self.describe(node))", at: path, node: node)
            return nil
        }
    }

    /// The items of the list under `parent[key]` with their key paths; absent or null is an empty list.
    private mutating func list(_ parent: Fields, _ key: String) -> [(path: String, node: Node)] {
        guard let node = parent[key], !Self.isNull(node) else { return [] }
        let path = parent.path(of: key)
        guard case .sequence(let sequence) = node else {
            self.report("expected a list, got \(Self.describe(node))", at: path, node: node)
            return []
        }
        return sequence.enumerated().map { ("\(path)[\($0.offset)]", $0.element) }
    }

    /// The strings of the list under `parent[key]`, with where each item is.
    private mutating func stringList(_ parent: Fields, _ key: String) -> [(value: String, path: String, line: Int?)] {
        var values: [(value: String, path: String, line: Int?)] = []
        for (path, node) in self.list(parent, key) {
            guard let text = self.text(node, at: path, expecting: "a string") else { continue }
            guard let text, !text.isEmpty else {
                self.report("expected a non-empty string", at: path, node: node)
                continue
            }
            values.append((text, path, node.mark?.line))
        }
        return values
    }

    // MARK: - Scalars

    /// The text of a scalar after `${VAR}` substitution: `.some(nil)` for a YAML null, `nil` after reporting a
    /// problem (not a scalar, or a substitution failure).
    private mutating func text(_ node: Node, at path: String, expecting expected: String) -> String?? {
        guard case .scalar(let scalar) = node else {
            self.report("expected \(expected), got \(Self.describe(node))", at: path, node: node)
            return nil
        }
        if Self.isNull(node) { return .some(nil) }
        switch EnvironmentSubstitution.apply(to: scalar.string, environment: self.environment) {
        case .success(let text):
            return .some(text)
        case .failure(let problem):
            self.report(problem.message, at: path, node: node)
            return nil
        }
    }

    /// An optional string; absent or null is `nil`. With `nonEmpty`, an empty string is reported.
    private mutating func string(_ fields: Fields, _ key: String, nonEmpty: Bool = false) -> String? {
        guard let node = fields[key], let text = self.text(node, at: fields.path(of: key), expecting: "a string") else {
            return nil
        }
        if nonEmpty, text?.isEmpty == true {
            self.report("must not be empty", at: fields.path(of: key), node: node)
            return nil
        }
        return text
    }

    /// A required, non-empty string; reports a missing, null or empty value.
    private mutating func requiredString(_ fields: Fields, _ key: String) -> String? {
        guard let node = fields[key] else {
            self.report("missing required key", at: fields.path(of: key), line: fields.line)
            return nil
        }
        guard let text = self.text(node, at: fields.path(of: key), expecting: "a string") else { return nil }
        guard let text, !text.isEmpty else {
            self.report("must not be empty", at: fields.path(of: key), node: node)
            return nil
        }
        return text
    }

    /// A required provider or model id. Ids are sent in response headers (`x-switchyard-provider`,
    /// `x-switchyard-model`), so they may not hold control characters or spaces.
    private mutating func identifier(_ fields: Fields, _ key: String) -> String? {
        guard let text = self.requiredString(fields, key) else { return nil }
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            self.report("must not contain spaces or control characters", at: fields.path(of: key), node: fields[key])
            return nil
        }
        return text
    }

    /// An optional string sent as an HTTP header value (an upstream key): no line breaks or other control
    /// characters, which would break the request or inject headers. A value from `${VAR}` with a trailing newline
    /// (a secret file) is the usual cause, so the message says so.
    private mutating func headerValue(_ fields: Fields, _ key: String) -> String? {
        guard let text = self.string(fields, key) else { return nil }
        guard text.unicodeScalars.allSatisfy({ ($0.value >= 0x20 || $0.value == 0x09) && $0.value != 0x7F }) else {
            self.report(
                "must not contain line breaks or control characters (a trailing newline in the environment variable?)",
                at: fields.path(of: key), node: fields[key])
            return nil
        }
        return text
    }

    /// An optional integer in `range`; `nil` when absent, null or reported.
    private mutating func integer(
        _ fields: Fields,
        _ key: String,
        in range: ClosedRange<Int>,
        rangeMessage: String
    ) -> Int? {
        let path = fields.path(of: key)
        guard let node = fields[key], let text = self.text(node, at: path, expecting: "an integer"), let text else {
            return nil
        }
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")), !text.hasPrefix("_") else {
            self.report("expected an integer, got '\(text)'", at: path, node: node)
            return nil
        }
        guard range.contains(value) else {
            self.report("\(rangeMessage), got \(value)", at: path, node: node)
            return nil
        }
        return value
    }

    /// An optional number of seconds, greater than zero (or at least zero with `allowZero`).
    private mutating func number(_ fields: Fields, _ key: String, allowZero: Bool = false) -> Double? {
        let path = fields.path(of: key)
        guard let node = fields[key], let text = self.text(node, at: path, expecting: "a number"), let text else {
            return nil
        }
        guard let value = Double(text), value.isFinite, text.first.map({ $0.isNumber || $0 == "." || $0 == "+" || $0 == "-" }) == true
        else {
            self.report("expected a number of seconds, got '\(text)'", at: path, node: node)
            return nil
        }
        guard allowZero ? value >= 0 : value > 0 else {
            self.report(allowZero ? "must not be negative, got \(text)" : "must be greater than 0, got \(text)", at: path, node: node)
            return nil
        }
        return value
    }

    /// An optional boolean (`true`/`false`, also `yes`/`no`, any case).
    private mutating func bool(_ fields: Fields, _ key: String) -> Bool? {
        let path = fields.path(of: key)
        guard let node = fields[key], let text = self.text(node, at: path, expecting: "true or false"), let text else {
            return nil
        }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            self.report("expected true or false, got '\(text)'", at: path, node: node)
            return nil
        }
    }

    /// A price in micro-dollars per million tokens from the scalar's decimal text; absent or null is 0.
    private mutating func price(_ fields: Fields, _ key: String) -> Int64 {
        let path = fields.path(of: key)
        guard let node = fields[key], let text = self.text(node, at: path, expecting: "a decimal number"), let text
        else {
            return 0
        }
        switch Price.micros(fromDecimal: text) {
        case .success(let micros):
            return micros
        case .failure(let problem):
            self.report("\(problem.message), got '\(text)'", at: path, node: node)
            return 0
        }
    }

    // MARK: - Reporting

    private mutating func report(_ message: String, at path: String, node: Node?) {
        self.report(message, at: path, line: node?.mark?.line)
    }

    private mutating func report(_ message: String, at path: String, line: Int?) {
        self.errors.append(ConfigError(source: self.source, line: line, keyPath: path, message: message))
    }

    private static func lineSuffix(_ line: Int?) -> String {
        line.map { ", line \($0)" } ?? ""
    }

    /// A YAML null: a plain `~`, `null` (any case) or empty scalar.
    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        switch scalar.string {
        case "", "~", "null", "Null", "NULL": return true
        default: return false
        }
    }

    /// How a value is named in a "got …" message.
    private static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            let text = scalar.string.count > 40 ? String(scalar.string.prefix(40)) + "…" : scalar.string
            return Self.isNull(node) ? "null" : "'\(text)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}
