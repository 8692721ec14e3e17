@testable import SwitchyardAccounts
import Synchronization
import Testing

@Suite struct AsyncSerialGateRunsOneBodyAtATime {
    final class Counters: Sendable {
        private let state = Mutex((inside: 0, maximum: 0, completed: 0))
        func enter() { state.withLock { $0.inside += 1; $0.maximum = max($0.maximum, $0.inside) } }
        func leave() { state.withLock { $0.inside -= 1; $0.completed += 1 } }
        var maximum: Int { state.withLock { $0.maximum } }
        var completed: Int { state.withLock { $0.completed } }
    }

    @Test func bodiesNeverOverlapEvenAcrossSuspensions() async {
        let gate = AsyncSerialGate()
        let counters = Counters()
        await withDiscardingTaskGroup { group in
            for _ in 0..<100 {
                group.addTask {
                    await gate.withGate {
                        counters.enter()
                        await Task.yield()
                        try? await Task.sleep(for: .microseconds(50))
                        counters.leave()
                    }
                }
            }
        }
        #expect(counters.maximum == 1)
        #expect(counters.completed == 100)
    }
}
