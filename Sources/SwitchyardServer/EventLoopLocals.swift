import NIOCore
import SwitchyardProviders

/// What each event loop has of its own, created at start-up: its upstream connection pool and its exchange ticker.
final class EventLoopLocals: @unchecked Sendable {
    struct Local {
        let pool: UpstreamConnectionPool
        let ticker: ExchangeTicker
    }

    // Immutable after init; each loop's objects are only touched on that loop.
    private let locals: [ObjectIdentifier: Local]

    init(group: any EventLoopGroup, tls: UpstreamTLSContexts, tick: TimeAmount) {
        var locals: [ObjectIdentifier: Local] = [:]
        for loop in group.makeIterator() {
            locals[ObjectIdentifier(loop)] = Local(
                pool: UpstreamConnectionPool(eventLoop: loop, tls: tls),
                ticker: ExchangeTicker(eventLoop: loop, interval: tick))
        }
        self.locals = locals
    }

    /// The objects of `loop`; called on `loop`.
    func of(_ loop: any EventLoop) -> Local {
        loop.assertInEventLoop()
        return locals[ObjectIdentifier(loop)]!
    }

    /// Closes all idle upstream connections, each on its own loop.
    func closeAllUpstreamConnections() async {
        for (id, local) in locals {
            try? await local.pool.eventLoop.submit { self.locals[id]?.pool.closeAll() }.get()
        }
    }
}

/// What a ``Ticker`` ticks: an object that checks its own deadlines.
protocol Ticking: AnyObject {
    /// Its place in the ticker while it is ticked (the ticker's to set).
    var tickerSlot: Int? { get set }
    func tick()
}

/// The ticker of an event loop's exchanges.
typealias ExchangeTicker = Ticker<MessagesExchange>

/// The one timer of an event loop that checks the time limits of all its exchanges in flight.
///
/// A timer per exchange cost a scheduled task (with its promise, closure and heap entry) and its cancellation on
/// every request; joining and leaving here is an append and a swap-remove. An exchange is first checked within one
/// interval of joining, as before (its limits are deadlines, so none fires early). The timer stops when a tick finds
/// no one to tick.
final class Ticker<Member: Ticking> {
    private let eventLoop: any EventLoop
    private let interval: TimeAmount
    private var exchanges: [Member] = []
    /// The timer is scheduled.
    private(set) var running = false

    init(eventLoop: any EventLoop, interval: TimeAmount) {
        self.eventLoop = eventLoop
        self.interval = interval
    }

    /// The number of exchanges being ticked.
    var count: Int { exchanges.count }

    /// Ticks `exchange` every interval until ``leave(_:)``. It is held strongly until then.
    func join(_ exchange: Member) {
        guard exchange.tickerSlot == nil else { return }
        exchange.tickerSlot = exchanges.count
        exchanges.append(exchange)
        if !running {
            running = true
            scheduleNext()
        }
    }

    func leave(_ exchange: Member) {
        guard let slot = exchange.tickerSlot else { return }
        exchange.tickerSlot = nil
        let last = exchanges.removeLast()
        if slot < exchanges.count {
            exchanges[slot] = last
            last.tickerSlot = slot
        }
    }

    private func scheduleNext() {
        eventLoop.assumeIsolated().scheduleTask(in: interval) { [self] in
            guard !exchanges.isEmpty else {
                running = false  // restarted by the next join
                return
            }
            // A tick may end exchanges (they leave); the loop runs over the array as it was.
            for exchange in exchanges where exchange.tickerSlot != nil {
                exchange.tick()
            }
            scheduleNext()
        }
    }
}
