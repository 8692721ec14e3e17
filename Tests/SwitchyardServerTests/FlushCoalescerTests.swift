import NIOCore
import NIOEmbedded
import SwitchyardProviders
import Testing

/// The first flush of a loop round goes out at once; later ones wait for the end of the round, then all go out.
@Suite struct FlushCoalescerTests {
    final class ContextKeeper: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var context: ChannelHandlerContext?
        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    }

    @Test func onlyTheRoundsFirstFlushIsImmediate() throws {
        let loop = EmbeddedEventLoop()
        let keepers = (0..<3).map { _ in ContextKeeper() }
        let channels = keepers.map { EmbeddedChannel(handler: $0, loop: loop) }
        let coalescer = FlushCoalescer(eventLoop: loop)
        for (index, channel) in channels.enumerated() {
            channel.write(ByteBuffer(string: "answer \(index)"), promise: nil)
            coalescer.flushSoon(try #require(keepers[index].context))
        }
        #expect(try channels[0].readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "answer 0")
        #expect(try channels[1].readOutbound(as: ByteBuffer.self) == nil)
        #expect(try channels[2].readOutbound(as: ByteBuffer.self) == nil)
        loop.run()  // the end of the round
        #expect(try channels[1].readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "answer 1")
        #expect(try channels[2].readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "answer 2")
        // A new round: its first flush is immediate again.
        channels[2].write(ByteBuffer(string: "again"), promise: nil)
        coalescer.flushSoon(try #require(keepers[2].context))
        #expect(try channels[2].readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "again")
    }

    @Test func heldFlushesGoOutWhenTheBatchLimitIsReached() throws {
        let loop = EmbeddedEventLoop()
        let count = FlushCoalescer.batchLimit + 2
        let keepers = (0..<count).map { _ in ContextKeeper() }
        let channels = keepers.map { EmbeddedChannel(handler: $0, loop: loop) }
        let coalescer = FlushCoalescer(eventLoop: loop)
        for (index, channel) in channels.enumerated() {
            channel.write(ByteBuffer(string: "\(index)"), promise: nil)
            coalescer.flushSoon(try #require(keepers[index].context))
        }
        // The first went out at once, the next batchLimit together when the last of them was held; one waits.
        let sent = try channels.map { try $0.readOutbound(as: ByteBuffer.self) != nil }
        #expect(sent == Array(repeating: true, count: count - 1) + [false])
        loop.run()
        #expect(try channels[count - 1].readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "\(count - 1)")
    }
}
