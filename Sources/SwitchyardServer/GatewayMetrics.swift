import Metrics
import Synchronization
import SwitchyardConfig
import SwitchyardRouting
import SwitchyardProviders

/// The gateway's metrics, in one place (STYLE house rule 13). Handles are created once and cached, never per
/// request; labels are bounded (route template, status code, provider id from the configuration).
final class GatewayMetrics: Sendable {
    private let requests = Mutex<[RequestKey: Counter]>([:])

    private struct RequestKey: Hashable {
        let route: String
        let status: Int
    }

    /// Counts one answered request.
    func countRequest(route: String, status: Int) {
        let counter = requests.withLock { cache in
            let key = RequestKey(route: route, status: status)
            if let existing = cache[key] { return existing }
            let created = Counter(
                label: "switchyard_requests_total", dimensions: [("route", route), ("status", String(status))])
            cache[key] = created
            return created
        }
        counter.increment()
    }
}
