import NIOCore

/// Flushes written bytes together once the event loop has handled the current round of I/O events.
///
/// Each flush of a loopback socket wakes the process reading its other end. Flushed one by one, a round of 30
/// answers wakes the upstream and the client up to 30 times each, and on a virtual machine waking an idle CPU is
/// one of the dearest things a request does. Flushed together at the end of the round, most of those writes find
/// their reader already awake. (Netty's `FlushConsolidationHandler` applies the same idea.) The first flush of a
/// round goes out at once, so a lone request (one flush per round) waits for nothing; the others wait for the end of
/// the round or for ``batchLimit`` others, whichever comes first.
///
/// One per event loop; used only on it.
public final class FlushCoalescer {
    private let eventLoop: any EventLoop
    private var pending: [ChannelHandlerContext] = []
    /// A flush went out in this round, and the task that flushes the rest at its end is queued.
    private var roundOpen = false
    /// `flushPending` is running (flushes it causes are appended and handled by its loop).
    private var flushing = false

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        pending.reserveCapacity(64)
    }

    /// Flushes `context` (what was written through it and below it): at once if it is the round's first flush,
    /// else at the end of the round or with a full batch. Flushing may run other channels' write callbacks.
    public func flushSoon(_ context: ChannelHandlerContext) {
        guard roundOpen else {
            roundOpen = true
            // Tasks submitted from the loop run after the I/O events of its current iteration.
            eventLoop.assumeIsolated().execute { self.endRound() }
            context.flush()
            return
        }
        pending.append(context)
        if pending.count >= Self.batchLimit && !flushing { flushPending() }
    }

    /// Held flushes go out together at the latest when this many are held: a round that relays a thousand stream
    /// events lasts milliseconds, and holding each flush to its end added that much to every event's latency.
    public static let batchLimit = 16

    private func endRound() {
        flushPending()
        roundOpen = false
    }

    private func flushPending() {
        flushing = true
        defer { flushing = false }
        var index = 0
        // A flush may lead to more flushes (a write completing ends an answer); they join this pass.
        while index < pending.count {
            pending[index].flush()
            index += 1
        }
        pending.removeAll(keepingCapacity: true)
    }
}
