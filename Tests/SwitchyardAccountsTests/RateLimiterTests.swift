import Synchronization
import Testing
import SwitchyardAccounts

/// A clock the tests move by hand.
final class ManualWallClock: Sendable {
    private let time: Mutex<Double>
    init(_ start: Double) { time = Mutex(start) }
    var now: Double { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}

/// RPM and TPM over a sliding minute: exact at the boundary, refilling on schedule, never early.
@Suite struct RateLimiterTests {
    static let start = 1_800_000_000.0

    @Test(arguments: [1, 7, 60, 600, 1000])
    func aBurstOfThreeTimesTheLimitInOneSecondAdmitsTheLimit(_ limit: Int) {
        let clock = ManualWallClock(Self.start)
        let limiter = RateLimiter(now: { clock.now })
        var admitted = 0
        for _ in 0..<(3 * limit) {
            if limiter.admit(keyID: "k", rpm: limit, tpm: nil).allowed { admitted += 1 }
            clock.advance(1.0 / Double(3 * limit))
        }
        #expect(admitted == limit)
    }

    @Test func exactlyAtTheLimitIsAdmittedAndOneOverIsRefusedWithRetryAfter() throws {
        let clock = ManualWallClock(Self.start)
        let limiter = RateLimiter(now: { clock.now })
        for index in 0..<10 {
            let decision = limiter.admit(keyID: "k", rpm: 10, tpm: nil)
            #expect(decision.allowed)
            #expect(decision.requests?.remaining == 9 - index)
        }
        clock.advance(15)
        let refused = limiter.admit(keyID: "k", rpm: 10, tpm: nil)
        #expect(!refused.allowed)
        #expect(refused.requests?.remaining == 0)
        // The first requests leave the window 60–60.1 s after they were made: 45 s from now, rounded up.
        let retry = try #require(refused.retryAfterSeconds)
        #expect((45...46).contains(retry))
        #expect(refused.refusedBy?.contains("requests per minute") == true)
    }

    @Test func theWindowRefillsOnScheduleAndNeverEarly() {
        let clock = ManualWallClock(Self.start)
        let limiter = RateLimiter(now: { clock.now })
        for _ in 0..<5 { #expect(limiter.admit(keyID: "k", rpm: 5, tpm: nil).allowed) }
        clock.advance(59.9)
        #expect(!limiter.admit(keyID: "k", rpm: 5, tpm: nil).allowed)
        clock.advance(0.25)
        for _ in 0..<5 { #expect(limiter.admit(keyID: "k", rpm: 5, tpm: nil).allowed) }
        #expect(!limiter.admit(keyID: "k", rpm: 5, tpm: nil).allowed)
    }

    @Test func tokensCountOnceKnownAndBlockUntilTheyLeaveTheWindow() {
        let clock = ManualWallClock(Self.start)
        let limiter = RateLimiter(now: { clock.now })
        #expect(limiter.admit(keyID: "k", rpm: nil, tpm: 1000).allowed)
        limiter.recordTokens(keyID: "k", tpm: 1000, tokens: 600)
        clock.advance(5)
        #expect(limiter.admit(keyID: "k", rpm: nil, tpm: 1000).allowed)
        limiter.recordTokens(keyID: "k", tpm: 1000, tokens: 600)
        clock.advance(5)
        let refused = limiter.admit(keyID: "k", rpm: nil, tpm: 1000)
        #expect(!refused.allowed)
        #expect(refused.tokens?.remaining == 0)
        #expect(refused.refusedBy?.contains("tokens per minute") == true)
        // Removing the first 600 tokens brings the total under the limit: 50 s on.
        #expect((50...51).contains(refused.retryAfterSeconds ?? 0))
        clock.advance(50.2)
        let admitted = limiter.admit(keyID: "k", rpm: nil, tpm: 1000)
        #expect(admitted.allowed)
        #expect(admitted.tokens?.remaining == 400)
    }

    @Test func keysAreIndependentAndUnlimitedKeysAreAlwaysAdmitted() {
        let clock = ManualWallClock(Self.start)
        let limiter = RateLimiter(now: { clock.now })
        #expect(limiter.admit(keyID: "a", rpm: 1, tpm: nil).allowed)
        #expect(!limiter.admit(keyID: "a", rpm: 1, tpm: nil).allowed)
        #expect(limiter.admit(keyID: "b", rpm: 1, tpm: nil).allowed)
        for _ in 0..<100 { #expect(limiter.admit(keyID: "c", rpm: nil, tpm: nil).allowed) }
        #expect(limiter.admit(keyID: "c", rpm: nil, tpm: nil).requests == nil)
    }

    @Test func resetIsWhenTheLastCountedUnitLeavesTheWindow() throws {
        let clock = ManualWallClock(Self.start)
        let limiter = RateLimiter(now: { clock.now })
        _ = limiter.admit(keyID: "k", rpm: 10, tpm: nil)
        clock.advance(20)
        let decision = limiter.admit(keyID: "k", rpm: 10, tpm: nil)
        let reset = try #require(decision.requests?.resetAt)
        #expect(reset > Self.start + 80 - 0.01 && reset <= Self.start + 80.1 + 0.01)
    }
}
