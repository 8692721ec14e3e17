import SwitchyardConfig
import SwitchyardMessages

/// What a request uses that an endpoint must support under `provider.require_parameters`.
public struct RequestFeatures: Sendable, Equatable {
    /// The capabilities the request needs.
    public var needs: Set<Capability>

    /// Creates the features from the capabilities the request needs.
    public init(needs: Set<Capability>) {
        self.needs = needs
    }

    /// A request that needs nothing special.
    public static let none = RequestFeatures(needs: [])

    /// What a validated Messages request uses: tools, thinking (enabled, adaptive or a newer type), images,
    /// documents.
    public init(_ request: MessagesRequest) {
        self.init(tools: request.usesTools, thinking: request.thinking, images: request.usesImages,
                  documents: request.usesDocuments)
    }

    /// What a validated `count_tokens` request uses (the same as the Messages request it counts).
    public init(_ request: CountTokensRequest) {
        self.init(tools: request.usesTools, thinking: request.thinking, images: request.usesImages,
                  documents: request.usesDocuments)
    }

    private init(tools: Bool, thinking: Thinking?, images: Bool, documents: Bool) {
        var needs: Set<Capability> = []
        if tools { needs.insert(.tools) }
        switch thinking {
        case nil, .disabled?: break
        case .enabled?, .adaptive?, .other?: needs.insert(.thinking)
        }
        if images { needs.insert(.images) }
        if documents { needs.insert(.documents) }
        self.needs = needs
    }
}

/// An endpoint the planner can route to; the exchange's own endpoint type conforms.
public protocol RoutableEndpoint: Sendable {
    /// The gateway model id this endpoint serves.
    var modelID: String { get }
    /// The configured provider id.
    var providerID: String { get }
    /// The model id sent upstream.
    var upstreamModel: String { get }
    /// What the endpoint charges, in micro-USD per million tokens.
    var price: Price { get }
    /// The request features the endpoint supports.
    var supports: Set<Capability> { get }
    /// The key of its circuit breaker and moving figures on the ``EndpointHealthBoard``.
    var healthKey: EndpointKey { get }
}

/// Identifies an upstream endpoint for health tracking: one provider serving one upstream model.
public struct EndpointKey: Hashable, Sendable, CustomStringConvertible {
    /// The configured provider id.
    public let providerID: String
    /// The model id sent upstream.
    public let upstreamModel: String

    /// Creates a key.
    public init(providerID: String, upstreamModel: String) {
        self.providerID = providerID
        self.upstreamModel = upstreamModel
    }

    /// `provider/upstreamModel`.
    public var description: String { "\(providerID)/\(upstreamModel)" }
}

/// An endpoint left out of a plan, and why.
public struct Exclusion<Endpoint: RoutableEndpoint>: Sendable {
    /// The endpoint left out.
    public let endpoint: Endpoint
    /// Why.
    public let reason: ExclusionReason

    /// Creates an exclusion (the exchange adds one when ``EndpointHealthBoard/beginAttempt(_:)`` refuses).
    public init(endpoint: Endpoint, reason: ExclusionReason) {
        self.endpoint = endpoint
        self.reason = reason
    }
}

/// Why the planner left an endpoint out.
public enum ExclusionReason: Sendable, Equatable, CustomStringConvertible {
    /// Its provider is not listed in `provider.only`.
    case notInOnly
    /// Its provider is listed in `provider.ignore`.
    case ignored
    /// Its provider is not in `provider.order`, and `allow_fallbacks` is false.
    case notInOrder
    /// `allow_fallbacks` is false, no `order` was given, and an earlier endpoint of the model is the primary.
    case notPrimary
    /// Its input and/or output price is above `provider.max_price`.
    case overMaxPrice(input: Bool, output: Bool)
    /// `require_parameters` is set and it lacks these capabilities (sorted by name).
    case unsupported(missing: [Capability])
    /// Its circuit is open; a probe is admitted in this many seconds (at least 1).
    case circuitOpen(retryInSeconds: Int)

    /// Whether retrying later can change the verdict (only a circuit can).
    public var isCircuit: Bool {
        if case .circuitOpen = self { return true }
        return false
    }

    /// A short human phrase, e.g. `listed in provider.ignore`.
    public var description: String {
        switch self {
        case .notInOnly: "not in provider.only"
        case .ignored: "listed in provider.ignore"
        case .notInOrder: "not in provider.order and allow_fallbacks is false"
        case .notPrimary: "not the primary endpoint and allow_fallbacks is false"
        case .overMaxPrice(let input, let output):
            switch (input, output) {
            case (true, true): "input and output prices above provider.max_price"
            case (false, true): "output price above provider.max_price"
            default: "input price above provider.max_price"
            }
        case .unsupported(let missing):
            "does not support \(missing.map(\.rawValue).joined(separator: ", ")) (require_parameters)"
        case .circuitOpen(let seconds):
            "circuit open after repeated failures; next probe in \(seconds) s"
        }
    }
}

/// The endpoints to try for one request, in order, and those left out.
public struct RoutePlan<Endpoint: RoutableEndpoint>: Sendable {
    /// The endpoints to try, in order; no ``EndpointKey`` appears twice.
    public var attempts: [Endpoint]
    /// The endpoints left out, per model in request order.
    public var exclusions: [Exclusion<Endpoint>]

    /// Creates a plan.
    public init(attempts: [Endpoint] = [], exclusions: [Exclusion<Endpoint>] = []) {
        self.attempts = attempts
        self.exclusions = exclusions
    }

    /// The 503 message when ``attempts`` is empty, naming each excluded endpoint's model, provider and reason:
    /// `No endpoint can serve this request: anthropic/x via 'p1': listed in provider.ignore; via 'p2': ….`
    ///
    /// Built when read, so a plan that is simply followed costs no string work.
    public var explanation: String {
        guard !exclusions.isEmpty else { return "No endpoint can serve this request: no endpoint is configured." }
        var text = "No endpoint can serve this request: "
        var index = exclusions.startIndex
        while index < exclusions.endIndex {
            // One run of exclusions per model (the planner emits them model by model).
            let model = exclusions[index].endpoint.modelID
            var end = index
            while end < exclusions.endIndex, exclusions[end].endpoint.modelID == model { end += 1 }
            let run = exclusions[index..<end]
            if index > exclusions.startIndex { text += "; " }
            text += model
            for (offset, exclusion) in run.enumerated() {
                let endpoint = exclusion.endpoint
                text += offset == 0 ? " via '" : "; via '"
                text += endpoint.providerID
                text += "'"
                // Name the upstream model when the provider alone does not say which endpoint it was.
                if run.contains(where: {
                    $0.endpoint.providerID == endpoint.providerID && $0.endpoint.upstreamModel != endpoint.upstreamModel
                }) {
                    text += " (\(endpoint.upstreamModel))"
                }
                text += ": "
                text += exclusion.reason.description
            }
            index = end
        }
        text += "."
        return text
    }

    /// True when there are exclusions and every one is an open circuit: retrying later may succeed.
    /// False when a filter (a request preference) excluded anything, or nothing was excluded.
    ///
    /// When filters and circuits both excluded endpoints, ``retryAfterSeconds`` is still set: the endpoints that
    /// passed the filters may take the request once their circuits admit a probe.
    public var onlyCircuitsExcluded: Bool {
        !exclusions.isEmpty && exclusions.allSatisfy(\.reason.isCircuit)
    }

    /// Seconds until the earliest open circuit admits a probe (for `retry-after`), `nil` if no circuit excluded.
    public var retryAfterSeconds: Int? {
        var earliest: Int?
        for exclusion in exclusions {
            if case .circuitOpen(let seconds) = exclusion.reason { earliest = min(earliest ?? seconds, seconds) }
        }
        return earliest
    }
}

/// Orders a request's endpoints by its `provider` preferences and the endpoints' health.
public enum RoutePlanner {
    /// Plans which endpoints to try, in which order.
    ///
    /// Per model, in this order: the filters (`only`, `ignore`, `max_price`, `require_parameters`), then `sort`
    /// (stable), then `order` (listed providers first, in its sequence; the others follow, or with
    /// `allow_fallbacks: false` are excluded), then — with `allow_fallbacks: false` and no `order` — only the first
    /// survivor is kept, and last the endpoints whose circuit is open are excluded. The models' lists are then
    /// concatenated; an endpoint already planned for an earlier model is not repeated. No probe is reserved: the
    /// exchange calls ``EndpointHealthBoard/beginAttempt(_:)`` right before each attempt.
    ///
    /// - Parameters:
    ///   - models: each requested model's endpoints in configuration order, models in request order (the
    ///     request's `model` first, then its `models` fallbacks, without repeats).
    ///   - features: what the request uses, checked only under `require_parameters`.
    ///   - preferences: the request's `provider` object.
    ///   - health: the gateway's health board.
    public static func plan<E: RoutableEndpoint>(
        models: [[E]],
        features: RequestFeatures,
        preferences: RoutingPreferences,
        health: EndpointHealthBoard
    ) -> RoutePlan<E> {
        var plan = RoutePlan<E>()
        if models.count == 1 {
            plan.attempts.reserveCapacity(models[0].count)
        } else {
            plan.attempts.reserveCapacity(models.reduce(0) { $0 + $1.count })
        }
        let plain = preferences.isDefault
        for endpoints in models {
            if plain {
                // The common case: configuration order, circuits only.
                for endpoint in endpoints {
                    admit(endpoint, wait: nil, measured: false, into: &plan, health: health)
                }
            } else {
                planModel(endpoints, features: features, preferences: preferences, health: health, into: &plan)
            }
        }
        return plan
    }

    /// One model's endpoints under non-default preferences.
    private static func planModel<E: RoutableEndpoint>(
        _ endpoints: [E],
        features: RequestFeatures,
        preferences: RoutingPreferences,
        health: EndpointHealthBoard,
        into plan: inout RoutePlan<E>
    ) {
        // 1. Filters.
        var survivors: [Candidate<E>] = []
        survivors.reserveCapacity(endpoints.count)
        for endpoint in endpoints {
            if let reason = filterReason(endpoint, features: features, preferences: preferences) {
                plan.exclusions.append(Exclusion(endpoint: endpoint, reason: reason))
            } else {
                survivors.append(Candidate(endpoint: endpoint, index: survivors.count))
            }
        }

        // 2. Sort (stable: ties keep configuration order), then `order`.
        if let sort = preferences.sort, survivors.count > 1 {
            sortCandidates(&survivors, by: sort, health: health)
        }
        if !preferences.order.isEmpty {
            var listed: [Candidate<E>] = []
            listed.reserveCapacity(survivors.count)
            var taken = [Bool](repeating: false, count: survivors.count)
            for provider in preferences.order {
                for (position, candidate) in survivors.enumerated()
                where !taken[position] && candidate.endpoint.providerID == provider {
                    taken[position] = true
                    listed.append(candidate)
                }
            }
            for (position, candidate) in survivors.enumerated() where !taken[position] {
                if preferences.allowFallbacks {
                    listed.append(candidate)
                } else {
                    plan.exclusions.append(Exclusion(endpoint: candidate.endpoint, reason: .notInOrder))
                }
            }
            survivors = listed
        } else if !preferences.allowFallbacks, survivors.count > 1 {
            // 3. No fallbacks and no order: the primary endpoint only.
            for candidate in survivors.dropFirst() {
                plan.exclusions.append(Exclusion(endpoint: candidate.endpoint, reason: .notPrimary))
            }
            survivors.removeSubrange(1...)
        }

        // 4. Circuits, and repeats of endpoints already planned for an earlier model.
        for candidate in survivors {
            admit(candidate.endpoint, wait: candidate.wait, measured: candidate.measured, into: &plan, health: health)
        }
    }

    /// Appends `endpoint` to the attempts unless it is already there or its circuit is open.
    ///
    /// - Parameters:
    ///   - wait: the board's answer when it was already read for sorting (`measured`), else it is read here.
    @inline(__always)
    private static func admit<E: RoutableEndpoint>(
        _ endpoint: E,
        wait: Double?,
        measured: Bool,
        into plan: inout RoutePlan<E>,
        health: EndpointHealthBoard
    ) {
        let key = endpoint.healthKey
        if isPlanned(key, in: plan.attempts) { return }
        if let wait = measured ? wait : health.waitBeforeAdmission(key) {
            let seconds = wait >= Double(Int.max / 2) ? Int.max / 2 : max(1, Int(wait.rounded(.up)))
            plan.exclusions.append(Exclusion(endpoint: endpoint, reason: .circuitOpen(retryInSeconds: seconds)))
        } else {
            plan.attempts.append(endpoint)
        }
    }

    /// Whether an endpoint with `key` is already among the attempts (attempt lists are short: a linear scan).
    @inline(__always)
    private static func isPlanned<E: RoutableEndpoint>(_ key: EndpointKey, in attempts: [E]) -> Bool {
        for attempt in attempts where attempt.healthKey == key { return true }
        return false
    }

    /// The first filter that excludes `endpoint`, if any.
    private static func filterReason<E: RoutableEndpoint>(
        _ endpoint: E,
        features: RequestFeatures,
        preferences: RoutingPreferences
    ) -> ExclusionReason? {
        let provider = endpoint.providerID
        if let only = preferences.only, !only.contains(provider) { return .notInOnly }
        if preferences.ignore.contains(provider) { return .ignored }
        if let limit = preferences.maxPrice {
            let price = endpoint.price
            let input = limit.input.map { price.input > $0 } ?? false
            let output = limit.output.map { price.output > $0 } ?? false
            if input || output { return .overMaxPrice(input: input, output: output) }
        }
        if preferences.requireParameters, !features.needs.isEmpty {
            let missing = features.needs.subtracting(endpoint.supports)
            if !missing.isEmpty { return .unsupported(missing: missing.sorted { $0.rawValue < $1.rawValue }) }
        }
        return nil
    }

    private static func sortCandidates<E: RoutableEndpoint>(
        _ candidates: inout [Candidate<E>],
        by sort: RoutingPreferences.Sort,
        health: EndpointHealthBoard
    ) {
        switch sort {
        case .price:
            for position in candidates.indices {
                let price = candidates[position].endpoint.price
                let (sum, overflow) = price.input.addingReportingOverflow(price.output)
                candidates[position].rank = overflow ? .infinity : Double(sum)
            }
        case .latency, .throughput:
            // One board reading per endpoint gives both the figure and the circuit verdict used later.
            for position in candidates.indices {
                let reading = health.reading(candidates[position].endpoint.healthKey)
                candidates[position].wait = reading.wait
                candidates[position].measured = true
                // Ascending rank; unknown figures after every known one.
                if sort == .latency {
                    candidates[position].rank = reading.latency ?? .infinity
                } else {
                    candidates[position].rank = reading.throughput.map { -$0 } ?? .infinity
                }
            }
        }
        candidates.sort { lhs, rhs in
            lhs.rank != rhs.rank ? lhs.rank < rhs.rank : lhs.index < rhs.index
        }
    }

    /// An endpoint that passed the filters, with what sorting needs.
    private struct Candidate<Endpoint: RoutableEndpoint> {
        let endpoint: Endpoint
        /// Position after filtering, the tie-breaker that keeps sorts stable.
        let index: Int
        var rank: Double = 0
        /// The board's circuit verdict, when it was read for sorting (`measured`).
        var wait: Double?
        var measured = false
    }
}
