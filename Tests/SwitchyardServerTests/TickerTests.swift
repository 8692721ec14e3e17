import NIOCore
import NIOEmbedded
import Testing
@testable import SwitchyardServer

/// One timer per event loop ticks every member that joined and has not left, however members come and go.
@Suite struct TickerTests {
    final class Member: Ticking {
        var tickerSlot: Int?
        var ticks = 0
        var onTick: (() -> Void)?
        func tick() {
            ticks += 1
            onTick?()
        }
    }

    @Test func membersAreTickedEachIntervalUntilTheyLeaveWhicheverSlotTheyHold() {
        let loop = EmbeddedEventLoop()
        let ticker = Ticker<Member>(eventLoop: loop, interval: .milliseconds(100))
        let members = (0..<5).map { _ in Member() }
        members.forEach(ticker.join)
        ticker.join(members[0])  // a second join changes nothing
        #expect(ticker.count == 5)
        loop.advanceTime(by: .milliseconds(100))
        #expect(members.map(\.ticks) == [1, 1, 1, 1, 1])
        // Leaving from the middle, the end and the start: the others keep their ticks.
        ticker.leave(members[2])
        ticker.leave(members[4])
        ticker.leave(members[0])
        ticker.leave(members[0])  // a second leave changes nothing
        #expect(ticker.count == 2)
        loop.advanceTime(by: .milliseconds(100))
        #expect(members.map(\.ticks) == [1, 2, 1, 2, 1])
        #expect(members.map { $0.tickerSlot != nil } == [false, true, false, true, false])
    }

    @Test func aMemberThatEndsAnotherDuringATickSkipsItAndTheTimerStopsWhenNoneAreLeft() {
        let loop = EmbeddedEventLoop()
        let ticker = Ticker<Member>(eventLoop: loop, interval: .milliseconds(100))
        let first = Member(), second = Member()
        ticker.join(first)
        ticker.join(second)
        first.onTick = {
            ticker.leave(first)
            ticker.leave(second)
        }
        loop.advanceTime(by: .milliseconds(100))
        #expect(first.ticks == 1)
        #expect(second.ticks == 0)
        #expect(ticker.count == 0)
        #expect(ticker.running)
        loop.advanceTime(by: .milliseconds(100))
        #expect(!ticker.running)  // the empty tick stopped the timer; the next join starts it again
        ticker.join(second)
        loop.advanceTime(by: .milliseconds(100))
        #expect(second.ticks == 1)
    }
}
