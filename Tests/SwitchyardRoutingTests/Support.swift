import Synchronization
import SwitchyardConfig
import SwitchyardRouting

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let time: Mutex<Double>

    init(_ start: Double = 1_000) {
        time = Mutex(start)
    }

    var now: Double { time.withLock { $0 } }

    func advance(_ seconds: Double) {
        time.withLock { $0 += seconds }
    }

    /// A board reading this clock.
    func board(failureThreshold: Int = 5, cooldown: Double = 30) -> EndpointHealthBoard {
        EndpointHealthBoard(
            policy: CircuitBreakerPolicy(failureThreshold: failureThreshold, cooldown: cooldown),
            now: { [self] in self.now }
        )
    }
}

/// A minimal endpoint for planning.
struct TestEndpoint: RoutableEndpoint, Equatable {
    var modelID: String
    var providerID: String
    var upstreamModel: String
    var price: Price
    var supports: Set<Capability>

    var healthKey: EndpointKey { EndpointKey(providerID: providerID, upstreamModel: upstreamModel) }

    /// Prices in USD per million tokens, as whole micro-USD.
    init(
        _ providerID: String,
        model: String = "anthropic/x",
        upstream: String? = nil,
        input: Int64 = 0,
        output: Int64 = 0,
        supports: Set<Capability> = []
    ) {
        self.modelID = model
        self.providerID = providerID
        self.upstreamModel = upstream ?? "up-\(model)"
        self.price = Price(input: input, output: output)
        self.supports = supports
    }
}

extension RoutePlan where Endpoint == TestEndpoint {
    /// The providers of the attempts, in order.
    var providers: [String] { attempts.map(\.providerID) }

    /// The reason each provider was excluded, keyed by provider id.
    var reasons: [String: ExclusionReason] {
        Dictionary(exclusions.map { ($0.endpoint.providerID, $0.reason) }, uniquingKeysWith: { first, _ in first })
    }
}
