import SwitchyardRouting
import Testing

@Suite struct HealthBoardCountsUnderConcurrency {
    @Test func concurrentFailuresAreAllCounted() async {
        let board = ManualClock().board(failureThreshold: 1_000_000)
        let key = EndpointKey(providerID: "p", upstreamModel: "m")
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<1000 { board.recordFailure(key) }
                }
            }
        }
        #expect(board.health(key).consecutiveFailures == 8000)
        #expect(board.health(key).state == .closed)
    }

    @Test func concurrentMixedCallsKeepTheBoardConsistent() async {
        let board = ManualClock().board(failureThreshold: 3, cooldown: 0)
        let keys = (0..<4).map { EndpointKey(providerID: "p\($0)", upstreamModel: "m") }
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for step in 0..<1000 {
                        let key = keys[(task + step) % keys.count]
                        switch step % 4 {
                        case 0: board.recordSuccess(key, latency: Double(step % 7), throughput: 10)
                        case 1: board.recordFailure(key)
                        case 2: _ = board.beginAttempt(key)
                        default: _ = board.isAvailable(key) ? board.recordAbandoned(key) : ()
                        }
                    }
                }
            }
        }
        let snapshot = board.snapshot()
        #expect(snapshot.count == 4)
        for health in snapshot.values {
            #expect(health.throughput == 10)
            #expect((0...6).contains(health.latency ?? -1))
        }
        // The last word is a success: every circuit closes and the counts start again.
        for key in keys { board.recordSuccess(key, latency: nil, throughput: nil) }
        #expect(board.snapshot().values.allSatisfy { $0.state == .closed && $0.consecutiveFailures == 0 })
    }
}
