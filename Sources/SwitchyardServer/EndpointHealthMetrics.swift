import Foundation
import SwitchyardConfig
import SwitchyardRouting

/// The endpoints' circuit states and moving figures in Prometheus text format, read from the health board when
/// `/metrics` is scraped (nothing is updated on the request path for them).
enum EndpointHealthMetrics {
    /// Gauges for every configured endpoint, in configuration order:
    /// `switchyard_endpoint_circuit_state` (0 closed, 1 half-open, 2 open),
    /// `switchyard_endpoint_consecutive_failures`, and when known `switchyard_endpoint_latency_seconds` (moving time
    /// to first byte) and `switchyard_endpoint_throughput_tokens_per_second` (moving output rate).
    static func text(runtime: GatewayRuntime) -> [UInt8] {
        var keys: [EndpointKey] = []
        var seen = Set<EndpointKey>()
        for model in runtime.configuration.models {
            guard let prepared = runtime.model(named: model.id) else { continue }
            for endpoint in prepared.endpoints where seen.insert(endpoint.healthKey).inserted {
                keys.append(endpoint.healthKey)
            }
        }
        guard !keys.isEmpty else { return [] }
        let healths = keys.map { runtime.health.health($0) }
        var out = ""
        func family(_ name: String, _ help: String, _ value: (EndpointHealth) -> String?) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for (key, health) in zip(keys, healths) {
                guard let value = value(health) else { continue }
                out += "\(name){provider=\"\(escape(key.providerID))\",upstream_model=\"\(escape(key.upstreamModel))\"} \(value)\n"
            }
        }
        family("switchyard_endpoint_circuit_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open.") { health in
            switch health.state {
            case .closed: "0"
            case .halfOpen: "1"
            case .open: "2"
            }
        }
        family("switchyard_endpoint_consecutive_failures", "Consecutive retryable failures of the endpoint.") {
            String($0.consecutiveFailures)
        }
        family("switchyard_endpoint_latency_seconds", "Moving time to first byte of the endpoint's answers.") {
            $0.latency.map { String($0) }
        }
        family("switchyard_endpoint_throughput_tokens_per_second", "Moving output tokens per second of the endpoint's streams.") {
            $0.throughput.map { String($0) }
        }
        return Array(out.utf8)
    }

    private static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
