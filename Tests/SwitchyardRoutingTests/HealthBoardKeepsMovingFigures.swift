import SwitchyardRouting
import Testing

private let key = EndpointKey(providerID: "p", upstreamModel: "m")

@Suite struct HealthBoardKeepsMovingFigures {
    @Test func firstSampleIsTakenAsIsThenSmoothed() throws {
        #expect(EndpointHealthBoard.smoothing == 0.3)
        let board = ManualClock().board()
        board.recordSuccess(key, latency: 2.0, throughput: 100)
        #expect(board.health(key).latency == 2.0)
        #expect(board.health(key).throughput == 100)

        board.recordSuccess(key, latency: 1.0, throughput: 50)
        // 2 + 0.3 × (1 − 2) = 1.7; 100 + 0.3 × (50 − 100) = 85
        let latency = try #require(board.health(key).latency)
        let throughput = try #require(board.health(key).throughput)
        #expect(abs(latency - 1.7) < 1e-12)
        #expect(abs(throughput - 85) < 1e-12)

        board.recordSuccess(key, latency: 1.7 + 1, throughput: nil)
        let next = try #require(board.health(key).latency)
        #expect(abs(next - 2.0) < 1e-12)  // 1.7 + 0.3 × 1
        #expect(board.health(key).throughput == throughput)  // nil sample leaves the figure alone
    }

    @Test func figuresAreKeptAcrossFailures() {
        let board = ManualClock().board(failureThreshold: 1)
        board.recordSuccess(key, latency: 0.5, throughput: 30)
        board.recordFailure(key)
        let health = board.health(key)
        #expect(health.state == .open)
        #expect(health.latency == 0.5)
        #expect(health.throughput == 30)
    }

    @Test func nonsenseSamplesAreIgnored() {
        let board = ManualClock().board()
        board.recordSuccess(key, latency: .nan, throughput: -1)
        #expect(board.health(key).latency == nil)
        #expect(board.health(key).throughput == nil)
        board.recordSuccess(key, latency: .infinity, throughput: 10)
        #expect(board.health(key).latency == nil)
        #expect(board.health(key).throughput == 10)
    }
}
