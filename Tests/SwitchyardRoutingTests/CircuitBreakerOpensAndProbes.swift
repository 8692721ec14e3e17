import SwitchyardRouting
import Testing

private let key = EndpointKey(providerID: "p", upstreamModel: "m")
private let other = EndpointKey(providerID: "q", upstreamModel: "m")

@Suite struct CircuitBreakerOpensAndProbes {
    @Test func unknownEndpointsAreClosedAndAvailable() {
        let board = ManualClock().board()
        #expect(board.health(key) == EndpointHealth(state: .closed, consecutiveFailures: 0))
        #expect(board.isAvailable(key))
        #expect(board.retryIn(key) == nil)
        #expect(board.beginAttempt(key))
        #expect(board.snapshot().isEmpty)
        #expect(key.description == "p/m")
    }

    @Test func opensAtExactlyTheThreshold() {
        let clock = ManualClock()
        let board = clock.board(failureThreshold: 3, cooldown: 30)
        board.recordFailure(key)
        board.recordFailure(key)
        #expect(board.health(key).state == .closed)
        #expect(board.health(key).consecutiveFailures == 2)
        #expect(board.isAvailable(key))
        clock.advance(1)
        board.recordFailure(key)
        let health = board.health(key)
        #expect(health.state == .open)
        #expect(health.consecutiveFailures == 3)
        #expect(health.openedAt == clock.now)
        #expect(!board.isAvailable(key))
        #expect(!board.beginAttempt(key))
        #expect(board.retryIn(key) == 30)
        // Other endpoints are not affected.
        #expect(board.isAvailable(other))
    }

    @Test func successResetsTheCount() {
        let board = ManualClock().board(failureThreshold: 3)
        board.recordFailure(key)
        board.recordFailure(key)
        board.recordSuccess(key, latency: nil, throughput: nil)
        #expect(board.health(key).consecutiveFailures == 0)
        board.recordFailure(key)
        board.recordFailure(key)
        #expect(board.health(key).state == .closed)
        board.recordFailure(key)
        #expect(board.health(key).state == .open)
    }

    @Test func openIsUnavailableUntilTheCooldownIsOver() {
        let clock = ManualClock()
        let board = clock.board(failureThreshold: 1, cooldown: 30)
        board.recordFailure(key)
        clock.advance(29.5)
        #expect(!board.isAvailable(key))
        #expect(board.retryIn(key) == 0.5)
        #expect(!board.beginAttempt(key))
        #expect(board.health(key).state == .open)
        clock.advance(0.5)
        #expect(board.isAvailable(key))
        #expect(board.retryIn(key) == 0)
    }

    @Test func onlyOneProbeIsAdmitted() {
        let clock = ManualClock()
        let board = clock.board(failureThreshold: 1, cooldown: 30)
        board.recordFailure(key)
        clock.advance(31)
        #expect(board.beginAttempt(key))
        #expect(board.health(key).state == .halfOpen)
        #expect(!board.isAvailable(key))
        #expect(!board.beginAttempt(key))
        clock.advance(10)
        #expect(!board.beginAttempt(key))
    }

    @Test func probeSuccessCloses() {
        let clock = ManualClock()
        let board = clock.board(failureThreshold: 2, cooldown: 30)
        board.recordFailure(key)
        board.recordFailure(key)
        clock.advance(30)
        #expect(board.beginAttempt(key))
        board.recordSuccess(key, latency: 0.4, throughput: nil)
        let health = board.health(key)
        #expect(health.state == .closed)
        #expect(health.consecutiveFailures == 0)
        #expect(board.isAvailable(key))
        #expect(board.retryIn(key) == nil)
        #expect(board.beginAttempt(key) && board.beginAttempt(key))
        // Closed again: it takes the full threshold to reopen.
        board.recordFailure(key)
        #expect(board.health(key).state == .closed)
    }

    @Test func probeFailureReopensWithANewOpenedAt() throws {
        let clock = ManualClock()
        let board = clock.board(failureThreshold: 5, cooldown: 30)
        for _ in 0..<5 { board.recordFailure(key) }
        let firstOpened = try #require(board.health(key).openedAt)
        clock.advance(45)
        #expect(board.beginAttempt(key))
        board.recordFailure(key)  // one failure of the probe is enough
        let health = board.health(key)
        #expect(health.state == .open)
        #expect(health.consecutiveFailures == 6)
        #expect(health.openedAt == clock.now)
        #expect(health.openedAt != firstOpened)
        #expect(!board.isAvailable(key))
        #expect(board.retryIn(key) == 30)
        clock.advance(30)
        #expect(board.beginAttempt(key))
    }

    @Test func failuresWhileOpenDoNotExtendTheCooldown() {
        let clock = ManualClock()
        let board = clock.board(failureThreshold: 1, cooldown: 30)
        board.recordFailure(key)
        let opened = board.health(key).openedAt
        clock.advance(20)
        board.recordFailure(key)  // a request that started before the circuit opened
        #expect(board.health(key).openedAt == opened)
        #expect(board.health(key).consecutiveFailures == 2)
        clock.advance(10)
        #expect(board.isAvailable(key))
    }

    @Test func aLostProbeReservationLapsesAfterTheCooldown() {
        let clock = ManualClock()
        let board = clock.board(failureThreshold: 1, cooldown: 30)
        board.recordFailure(key)
        clock.advance(30)
        #expect(board.beginAttempt(key))  // this probe never reports back
        clock.advance(29)
        #expect(!board.isAvailable(key))
        #expect(board.retryIn(key) == 1)
        #expect(!board.beginAttempt(key))
        clock.advance(1)
        #expect(board.isAvailable(key))
        #expect(board.beginAttempt(key))
        #expect(!board.beginAttempt(key))
    }

    @Test func abandonedReleasesTheProbeOnly() {
        let clock = ManualClock()
        let board = clock.board(failureThreshold: 2, cooldown: 30)
        board.recordFailure(key)
        board.recordFailure(key)
        clock.advance(30)
        #expect(board.beginAttempt(key))
        let before = board.health(key)
        board.recordAbandoned(key)
        #expect(board.health(key) == before)  // still half-open, same count and figures
        #expect(board.isAvailable(key))
        #expect(board.beginAttempt(key))
        #expect(!board.beginAttempt(key))
    }

    @Test func abandonedOnAClosedCircuitChangesNothing() {
        let board = ManualClock().board(failureThreshold: 3)
        board.recordFailure(key)
        board.recordAbandoned(key)
        board.recordAbandoned(other)
        #expect(board.health(key).consecutiveFailures == 1)
        #expect(board.snapshot().keys.sorted { $0.providerID < $1.providerID } == [key])
    }

    @Test func snapshotListsEveryEndpointReportedOn() {
        let board = ManualClock().board(failureThreshold: 1)
        board.recordFailure(key)
        board.recordSuccess(other, latency: 1, throughput: 2)
        let snapshot = board.snapshot()
        #expect(snapshot.count == 2)
        #expect(snapshot[key]?.state == .open)
        #expect(snapshot[other] == EndpointHealth(state: .closed, consecutiveFailures: 0, latency: 1, throughput: 2))
        #expect(CircuitState.halfOpen.rawValue == "half_open")
    }
}
