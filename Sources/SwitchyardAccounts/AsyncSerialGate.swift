import Synchronization

/// A FIFO mutual-exclusion gate for async code: at most one `withGate` body runs at a time, and waiters
/// enter in arrival order.
///
/// Unlike an actor, the gate holds across suspension points, so a body may await (a database transaction,
/// a flush) without another body interleaving. Waiting is not cancellable: bodies guarded here are short
/// store operations that must finish once begun.
package final class AsyncSerialGate: Sendable {
    private struct State {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var head = 0
    }

    private let state = Mutex(State())

    package init() {}

    /// Runs `body` once every earlier caller's body has finished.
    package func withGate<Result>(_ body: () async throws -> Result) async rethrows -> Result {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        let entered = state.withLock { state in
            if state.busy { return false }
            state.busy = true
            return true
        }
        if entered { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let enterNow = state.withLock { state in
                if !state.busy {
                    state.busy = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if enterNow { continuation.resume() }
        }
    }

    private func release() {
        // Ownership passes straight to the next waiter (busy stays true), so nobody can barge in between.
        let next: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard state.head < state.waiters.count else {
                state.busy = false
                state.waiters.removeAll(keepingCapacity: true)
                state.head = 0
                return nil
            }
            let next = state.waiters[state.head]
            state.head += 1
            if state.head >= 64, state.head * 2 >= state.waiters.count {
                // Under constant contention the array never drains: drop the consumed front now and then.
                state.waiters.removeFirst(state.head)
                state.head = 0
            }
            return next
        }
        next?.resume()
    }
}
