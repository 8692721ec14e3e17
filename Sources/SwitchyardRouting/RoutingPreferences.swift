import SwitchyardMessages

/// The request's OpenRouter-style `provider` object (SPEC §3): which endpoints may serve it, and in which order.
///
/// Parsed once per request from the already-parsed body by ``parse(_:)``; every member is optional and `null`
/// means absent. Unknown members are refused rather than ignored, so that a typo or an unsupported privacy
/// preference (`data_collection`, `zdr`, `quantizations`) never silently routes somewhere the client did not want.
public struct RoutingPreferences: Sendable, Equatable {
    /// `provider.sort`: how the endpoints of a model are ordered before `order` is applied.
    public enum Sort: String, Sendable, CaseIterable {
        /// Cheapest first (input + output price per million tokens).
        case price
        /// Lowest moving time to first byte first; endpoints without a figure last.
        case latency
        /// Highest moving output tokens per second first; endpoints without a figure last.
        case throughput
    }

    /// `provider.max_price`: the most the client will pay, in micro-USD per million tokens (`nil`: no limit).
    public struct MaxPrice: Sendable, Equatable {
        /// Highest acceptable input price (`input`, or OpenRouter's `prompt`).
        public var input: Int64?
        /// Highest acceptable output price (`output`, or OpenRouter's `completion`).
        public var output: Int64?

        /// Creates a limit; both values in micro-USD per million tokens.
        public init(input: Int64? = nil, output: Int64? = nil) {
            self.input = input
            self.output = output
        }
    }

    /// `provider.order`: provider ids to try first, in this sequence. Default `[]`.
    public var order: [String]
    /// `provider.only`: the only provider ids allowed; `nil` (also for an empty list) means no restriction.
    public var only: [String]?
    /// `provider.ignore`: provider ids never to use. Default `[]`.
    public var ignore: [String]
    /// `provider.allow_fallbacks`: whether endpoints beyond `order` (or beyond the primary one) may be used.
    /// Default `true`.
    public var allowFallbacks: Bool
    /// `provider.require_parameters`: only endpoints that support everything the request uses. Default `false`.
    public var requireParameters: Bool
    /// `provider.sort`. Default `nil` (configuration order).
    public var sort: Sort?
    /// `provider.max_price`. Default `nil` (no limit).
    public var maxPrice: MaxPrice?

    /// Preferences with every member at its default: configuration order, no filter.
    public init() {
        self.order = []
        self.only = nil
        self.ignore = []
        self.allowFallbacks = true
        self.requireParameters = false
        self.sort = nil
        self.maxPrice = nil
    }

    /// No preferences: configuration order, no filter.
    public static let `default` = RoutingPreferences()

    /// Whether every member is at its default, so the planner may skip every filter.
    @inlinable
    public var isDefault: Bool {
        order.isEmpty && only == nil && ignore.isEmpty && allowFallbacks && !requireParameters && sort == nil
            && maxPrice == nil
    }

    /// The members ``parse(_:)`` accepts, in the order error messages list them.
    public static let supportedMembers = [
        "order", "only", "ignore", "allow_fallbacks", "require_parameters", "sort", "max_price",
    ]

    /// The highest `max_price` value accepted, in USD per million tokens (keeps micro-USD within `Int64`).
    public static let maxPriceLimit: Double = 1_000_000_000_000

    /// Parses the request's `provider` object.
    ///
    /// - Parameter object: the `provider` member of the request body; `nil` (absent or `null`) gives ``default``.
    /// - Returns: the preferences, with `max_price` converted from USD to micro-USD per million tokens.
    /// - Throws: ``InvalidRequest`` naming the member, e.g. `provider.order.1: Input should be a valid string` or
    ///   `provider.sort: must be one of price, latency, throughput`.
    public static func parse(_ object: JSONObject?) throws(InvalidRequest) -> RoutingPreferences {
        var preferences = RoutingPreferences()
        guard let object else { return preferences }
        // Members are applied in document order, so a repeated member ends with its last value (the one
        // `JSONObject`'s subscript would return).
        for (key, value) in object.members {
            let isNull = value.isNull
            switch key {
            case "order":
                preferences.order = isNull ? [] : try stringList(value, "order")
            case "only":
                let list = isNull ? [] : try stringList(value, "only")
                preferences.only = list.isEmpty ? nil : list
            case "ignore":
                preferences.ignore = isNull ? [] : try stringList(value, "ignore")
            case "allow_fallbacks":
                preferences.allowFallbacks = isNull ? true : try bool(value, "allow_fallbacks")
            case "require_parameters":
                preferences.requireParameters = isNull ? false : try bool(value, "require_parameters")
            case "sort":
                preferences.sort = isNull ? nil : try sort(value)
            case "max_price":
                preferences.maxPrice = isNull ? nil : try maxPrice(value)
            default:
                throw InvalidRequest(
                    message: "provider.\(key): not supported (supported members: "
                        + supportedMembers.joined(separator: ", ") + ")"
                )
            }
        }
        return preferences
    }

    // MARK: Members

    private static func stringList(_ value: JSONValue, _ key: String) throws(InvalidRequest) -> [String] {
        guard case .array(let elements) = value else { throw problem(key, ProblemText.list) }
        var strings: [String] = []
        strings.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            guard case .string(let string) = element else { throw problem("\(key).\(index)", ProblemText.string) }
            strings.append(string)
        }
        return strings
    }

    private static func bool(_ value: JSONValue, _ key: String) throws(InvalidRequest) -> Bool {
        guard case .bool(let bool) = value else { throw problem(key, ProblemText.boolean) }
        return bool
    }

    private static let sortChoices = "must be one of " + Sort.allCases.map(\.rawValue).joined(separator: ", ")

    /// `"price"`, or OpenRouter's object form `{"by": "price", "partition": "model"}`.
    private static func sort(_ value: JSONValue) throws(InvalidRequest) -> Sort? {
        switch value {
        case .string(let name):
            guard let sort = Sort(rawValue: name) else { throw problem("sort", sortChoices) }
            return sort
        case .object(let object):
            var sort: Sort?
            for (key, member) in object.members {
                switch key {
                case "by":
                    if member.isNull {
                        sort = nil
                    } else {
                        guard let name = member.stringValue, let by = Sort(rawValue: name) else {
                            throw problem("sort.by", sortChoices)
                        }
                        sort = by
                    }
                case "partition":
                    // Sorting is always within each model (the `models` fallbacks keep their order), which is
                    // OpenRouter's `"model"`; `"none"` would mix models and is refused rather than ignored.
                    guard member.isNull || member.stringValue == "model" else {
                        throw problem("sort.partition", "only \"model\" is supported (endpoints are sorted within each model)")
                    }
                default:
                    throw problem("sort.\(key)", "not supported (supported members: by, partition)")
                }
            }
            return sort
        default:
            throw problem("sort", sortChoices + " (a string, or an object with \"by\")")
        }
    }

    private static func maxPrice(_ value: JSONValue) throws(InvalidRequest) -> MaxPrice? {
        guard case .object(let object) = value else { throw problem("max_price", ProblemText.dictionary) }
        var limit = MaxPrice()
        for (key, member) in object.members {
            switch key {
            case "input", "prompt":
                limit.input = try micros(member, "max_price.\(key)")
            case "output", "completion":
                limit.output = try micros(member, "max_price.\(key)")
            case "request", "image", "audio", "web_search", "internal_reasoning", "input_cache_read",
                "input_cache_write":
                throw problem(
                    "max_price.\(key)",
                    "not supported: only per-token prices are (input, output; also named prompt, completion)"
                )
            default:
                throw problem("max_price.\(key)", "not supported (supported members: input, output, prompt, completion)")
            }
        }
        return limit.input == nil && limit.output == nil ? nil : limit
    }

    /// USD per million tokens → micro-USD per million tokens; `null` is absent.
    private static func micros(_ value: JSONValue, _ path: String) throws(InvalidRequest) -> Int64? {
        if value.isNull { return nil }
        guard let dollars = value.doubleValue, dollars.isFinite else { throw problem(path, ProblemText.number) }
        if dollars < 0 { throw problem(path, "Input should be greater than or equal to 0") }
        if dollars > maxPriceLimit { throw problem(path, "Input should be less than or equal to 1000000000000") }
        return Int64((dollars * 1_000_000).rounded())
    }

    private static func problem(_ path: String, _ text: String) -> InvalidRequest {
        InvalidRequest(message: "provider.\(path): \(text)")
    }
}

/// Problems, worded like the request checker's (and the Anthropic API's) validation messages.
private enum ProblemText {
    static let string = "Input should be a valid string"
    static let number = "Input should be a valid number"
    static let boolean = "Input should be a valid boolean"
    static let list = "Input should be a valid list"
    static let dictionary = "Input should be a valid dictionary"
}
