import Logging
import NIOCore
import NIOHTTP1
import SwitchyardMessages
import SwitchyardProviders
import SwitchyardConfig
import SwitchyardRouting

/// The server side of the data path: one per client connection, on its event loop.
///
/// It collects each request (bounded by `server.max_body_bytes`), then hands `/v1/messages` and
/// `/v1/messages/count_tokens` to a ``MessagesExchange`` on the same event loop, and every other route to the
/// Hummingbird router (``ColdRoutes``).
///
/// It answers one request at a time. Parts of requests a client pipelines behind the one being answered are queued
/// and taken up in order once it is answered; while any are queued, reading from the client is held, so a
/// pipelining client cannot make the queue grow past one read. (NIO's `HTTPServerPipelineHandler` does this job by
/// stopping reads during every response, which costs two `epoll_ctl` calls per request.) When the server quiesces,
/// an idle connection closes at once and a busy one after its current answer.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        /// The body is over the limit and a 413 was sent: the rest is read and dropped, never kept.
        case discarding(keepAlive: Bool)
        case responding
    }

    private let runtime: GatewayRuntime
    private let coldRoutes: ColdRoutes
    private let locals: EventLoopLocals
    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var keepAlive = true
    private var exchange: MessagesExchange?
    /// What arrived while an earlier request was being answered: parts of pipelined requests, or a parse error
    /// (answered with its 400 in turn, after the answers before it).
    private enum Queued {
        case part(HTTPServerRequestPart)
        case parseError
    }

    private var queued = CircularBuffer<Queued>()
    /// A read was asked for while parts were queued; it is issued once the queue is empty.
    private var readHeld = false
    /// The server is shutting down: no request after the current one.
    private var quiescing = false
    /// The connection is closing (or closed): nothing more is read, answered or queued.
    private var closing = false
    /// `processQueued` is running: a nested call (an answer written synchronously while draining) returns at
    /// once and the outer loop goes on, so a deep pipeline does not deepen the stack.
    private var draining = false
    /// The context of NIO's response encoder, below this handler: chunk-framed body bytes are written from it,
    /// straight to the socket.
    private var encoderContext: ChannelHandlerContext?
    /// The method of the request being answered (a `HEAD` answer has no body to frame).
    private var requestMethod = HTTPMethod.GET
    /// The HTTP version of the request being answered, which its answer uses.
    private var requestVersion = HTTPVersion.http1_1
    /// How the current answer's body reaches the socket.
    private enum BodyWriting {
        /// Through NIO's response encoder.
        case encoder
        /// Below the encoder, each write framed as a chunk here (see ``writeBody(_:)``).
        case chunkedHere
        /// Below the encoder as it is: the head went out as bytes, with a content-length (or, to an HTTP/1.0
        /// client, a body that ends with the connection).
        case rawHere
    }

    private var bodyWriting = BodyWriting.encoder
    /// A head written as bytes (``writeHead(status:fields:)``), held until the first body write or flush, so that a
    /// small answer leaves as one buffer.
    private var heldHead: ByteBuffer?
    /// The current answer may carry body bytes (written below the encoder; see ``writeHead(status:fields:)``).
    private var bodyAllowed = true
    /// This loop's flush coalescer (absent only before the handler is added).
    private var flushes: FlushCoalescer?

    init(runtime: GatewayRuntime, coldRoutes: ColdRoutes, locals: EventLoopLocals) {
        self.runtime = runtime
        self.coldRoutes = coldRoutes
        self.locals = locals
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        flushes = locals.of(context.eventLoop).pool.flushes
        // Chunks are framed below the encoder only when no handler between it and this one watches responses (the
        // pipeline GatewayServer builds); otherwise such a handler would never see a streamed answer end.
        let pipeline = context.pipeline.syncOperations
        let watchers = [
            (try? pipeline.context(handlerType: HTTPServerPipelineHandler.self)) != nil,
            (try? pipeline.context(handlerType: HTTPServerProtocolErrorHandler.self)) != nil,
            (try? pipeline.context(handlerType: NIOHTTPResponseHeadersValidator.self)) != nil,
        ]
        if !watchers.contains(true) {
            encoderContext = try? pipeline.context(handlerType: HTTPResponseEncoder.self)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        encoderContext = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let part = unwrapInboundIn(data)
        if isAnswering || !queued.isEmpty {
            // Behind an answer in progress (or behind parts already waiting): taken up in turn. A quiescing
            // connection takes no request after the current one.
            if !quiescing { queued.append(.part(part)) }
            return
        }
        process(part, context: context)
    }

    func read(context: ChannelHandlerContext) {
        if queued.isEmpty {
            context.read()
        } else {
            readHeld = true
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            // The client shut down its side. As NIO does itself without half-closure, the connection closes (an
            // answer in progress is abandoned), but only after the answers already written are flushed: NIO would
            // drop those whose flush is held for the end of the round, such as pipelined answers written during the
            // very read that ended with the client's FIN.
            return close(context)
        }
        guard event is ChannelShouldQuiesceEvent else {
            return context.fireUserInboundEventTriggered(event)
        }
        quiescing = true
        keepAlive = false
        queued.removeAll()
        if case .idle = state { close(context) }
    }

    /// Whether a request is being answered.
    private var isAnswering: Bool {
        if case .responding = state { return true }
        return false
    }

    /// Takes up queued parts after an answer ended, until a request is being answered again or none are left.
    private func processQueued() {
        guard !draining else { return }
        draining = true
        defer { draining = false }
        while let context, !closing, !queued.isEmpty, !isAnswering {
            switch queued.removeFirst() {
            case .part(let part): process(part, context: context)
            case .parseError: answerParseError(context: context)
            }
        }
        if readHeld, !closing, queued.isEmpty, let context {
            readHeld = false
            context.read()
        }
    }

    /// Closes the connection; from here on nothing is read or answered. What was written is flushed first: its
    /// flush may be held for the end of the loop's round (``FlushCoalescer``), and a close drops unflushed writes.
    private func close(_ context: ChannelHandlerContext) {
        closing = true
        queued.removeAll()
        context.flush()
        context.close(promise: nil)
    }

    private func process(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            receiveHead(head, context: context)
        case .body(var chunk):
            switch state {
            case .receiving(let head, var body):
                if body.readableBytes + chunk.readableBytes > runtime.configuration.server.maxBodyBytes {
                    state = .discarding(keepAlive: false)
                    rejectTooLarge(head)
                    return
                }
                state = .responding  // avoid a copy-on-write of `body` while it is appended to
                body.writeBuffer(&chunk)
                state = .receiving(head, body)
            case .discarding, .idle, .responding:
                break
            }
        case .end:
            switch state {
            case .receiving(let head, let body):
                state = .responding
                dispatch(head, body: body)
            case .discarding(let keepAlive):
                state = .idle
                if !keepAlive { close(context) }
            case .idle, .responding:
                break
            }
        }
    }

    private func receiveHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        requestMethod = head.method
        requestVersion = head.version
        // After a CONNECT or an upgrade request NIO's parser reads no further request on the connection: it closes
        // after this answer rather than sit open, unread.
        keepAlive = head.isKeepAlive && !quiescing && head.method != .CONNECT && !head.headers.contains(name: "upgrade")
        let limit = runtime.configuration.server.maxBodyBytes
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > limit {
            state = .discarding(keepAlive: false)
            rejectTooLarge(head)
            return
        }
        if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
        let capacity = head.headers.first(name: "content-length").flatMap(Int.init) ?? 0
        state = .receiving(head, context.channel.allocator.buffer(capacity: capacity))
    }

    private func rejectTooLarge(_ head: HTTPRequestHead) {
        let error = APIError.requestTooLarge(
            "Request body is larger than the gateway's limit of \(runtime.configuration.server.maxBodyBytes) bytes.")
        keepAlive = false
        writeError(error, requestID: RequestID.make(), route: "other")
    }

    private func dispatch(_ head: HTTPRequestHead, body: ByteBuffer) {
        let uri = head.uri
        let path: Substring
        let query: Substring?
        if let mark = uri.firstIndex(of: "?") {
            path = uri[..<mark]
            query = uri[uri.index(after: mark)...]
        } else {
            path = uri[...]
            query = nil
        }
        guard let context else { return }
        switch (head.method, path) {
        case (.POST, "/v1/messages"), (.POST, "/v1/messages/count_tokens"):
            let exchange = MessagesExchange(
                kind: path == "/v1/messages" ? .messages : .countTokens,
                head: head, body: body, query: query,
                connection: self, runtime: runtime,
                locals: locals.of(context.eventLoop))
            self.exchange = exchange
            exchange.start()
        case (.HEAD, "/"):
            // Claude Code probes `HEAD /` at start-up.
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "0")
            headers.add(name: "request-id", value: RequestID.make())
            writeHead(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))
            writeEnd()
        default:
            coldRoutes.respond(head: head, body: body, channel: context.channel) { [self] status, headers, body in
                // Back on the event loop.
                writeHead(HTTPResponseHead(version: .http1_1, status: status, headers: headers))
                if body.readableBytes > 0 { writeBody(body) }
                writeEnd()
            }
        }
    }

    // MARK: writing the response (used by the exchange, on this event loop)

    var isActive: Bool { context?.channel.isActive ?? false }
    var isWritable: Bool { context?.channel.isWritable ?? false }
    var allocator: ByteBufferAllocator { context?.channel.allocator ?? ByteBufferAllocator() }

    /// Writes a head given as `HTTPResponseHead` (cold routes, `HEAD /`): as bytes, like every other answer, when
    /// this handler writes below NIO's encoder (framing and `connection` fields are then decided here, and an answer
    /// that cannot have a body carries no `content-length`); else through the encoder.
    func writeHead(_ head: HTTPResponseHead) {
        guard encoderContext != nil else { return writeHeadThroughEncoder(head) }
        var fields = ResponseFields()
        for (name, value) in head.headers {
            switch name.lowercased() {
            case "transfer-encoding", "connection": continue
            case "content-length" where !head.status.mayHaveResponseBody: continue
            default: fields.add(name: name, value: value)
            }
        }
        writeHead(status: head.status, fields: fields)
    }

    private func writeHeadThroughEncoder(_ head: HTTPResponseHead) {
        guard let context else { return }
        var head = head
        // Answered in the request's version: an HTTP/1.0 client cannot read chunked encoding, so a body of unknown
        // length ends with the connection.
        head.version = requestVersion
        let bodyOfUnknownLength = head.status.mayHaveResponseBody && requestMethod != .HEAD
            && requestMethod != .CONNECT && !head.headers.contains(name: "content-length")
        let chunkable = requestVersion.major == 1 && requestVersion.minor >= 1
        if bodyOfUnknownLength && !chunkable { keepAlive = false }
        if !keepAlive { head.headers.replaceOrAdd(name: "connection", value: "close") }
        bodyWriting = .encoder
        bodyAllowed = true  // the encoder's own rules apply (in the pipelines that use this path, tests' ones, NIO's
                            // server pipeline pairs the encoder with the decoder, which tells it of HEAD requests)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
    }

    /// Writes a head as bytes, below NIO's encoder, by the encoder's rules (see `HTTPResponseEncoder.write` in
    /// NIOHTTP1/HTTPEncoder.swift): the request's version; chunked encoding for a body of unknown length to an
    /// HTTP/1.1 client (a status that may have a body, no content-length, not to HEAD); no body at all to
    /// HEAD or with a status that has none; `connection: close` when the connection ends after this answer. Every
    /// answer goes this way; building `HTTPHeaders` and running them through the encoder cost about a tenth of a
    /// pass-through request.
    func writeHead(status: HTTPResponseStatus, fields: ResponseFields) {
        guard context != nil else { return }
        guard let encoderContext else {
            return writeHead(HTTPResponseHead(version: .http1_1, status: status, headers: fields.headers))
        }
        // (Unlike NIO's encoder, no exception for CONNECT: the gateway never opens a tunnel, so a CONNECT answer is
        // framed like any other.)
        let bodyOfUnknownLength = status.mayHaveResponseBody && requestMethod != .HEAD && !fields.hasContentLength
        let chunkable = requestVersion.major == 1 && requestVersion.minor >= 1
        if bodyOfUnknownLength && !chunkable { keepAlive = false }
        var head = encoderContext.channel.allocator.buffer(capacity: fields.bytes.readableBytes + 96)
        head.writeStatusLine(version: requestVersion, status: status)
        head.writeImmutableBuffer(fields.bytes)
        if bodyOfUnknownLength && chunkable { head.writeStaticString("transfer-encoding: chunked\r\n") }
        if !keepAlive { head.writeStaticString("connection: close\r\n") }
        head.writeStaticString("\r\n")
        bodyWriting = bodyOfUnknownLength && chunkable ? .chunkedHere : .rawHere
        bodyAllowed = status.mayHaveResponseBody && requestMethod != .HEAD
        heldHead = head
    }

    /// Writes body bytes. A chunked answer's chunks (one per relayed SSE read) are framed here into one buffer and
    /// written below the encoder: NIO's encoder writes each chunk as three buffers (size line, bytes, CRLF), with
    /// a fresh buffer and string for the size line, which for 1,000 streams costs a measurable part of the loop.
    func writeBody(_ buffer: ByteBuffer) {
        guard bodyWriting != .encoder, let encoderContext else {
            context?.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            return
        }
        // An empty chunk would end the body; an answer to HEAD, or with a status like 204, has none.
        guard buffer.readableBytes > 0, bodyAllowed else { return }
        var out: ByteBuffer
        if var head = heldHead {
            heldHead = nil
            if bodyWriting == .rawHere && buffer.readableBytes > 16_384 {
                // A large body is not copied behind its head: two buffers, one writev.
                encoderContext.write(NIOAny(IOData.byteBuffer(head)), promise: nil)
                encoderContext.write(NIOAny(IOData.byteBuffer(buffer)), promise: nil)
                return
            }
            head.reserveCapacity(minimumWritableBytes: buffer.readableBytes + 20)
            out = head
        } else if bodyWriting == .rawHere {
            encoderContext.write(NIOAny(IOData.byteBuffer(buffer)), promise: nil)
            return
        } else {
            out = encoderContext.channel.allocator.buffer(capacity: buffer.readableBytes + 20)
        }
        if bodyWriting == .chunkedHere { out.writeChunkSizeLine(buffer.readableBytes) }
        out.writeImmutableBuffer(buffer)
        if bodyWriting == .chunkedHere { out.writeStaticString("\r\n") }
        encoderContext.write(NIOAny(IOData.byteBuffer(out)), promise: nil)
    }

    /// The end of the answer: the last chunk when this handler frames chunks, a held head (if no body was written)
    /// when it wrote the head as bytes, else the encoder's `.end`.
    /// Flushed at the end of the loop's round (see ``FlushCoalescer``); `promise` completes once it is written.
    private func writeEndOfBody(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard bodyWriting != .encoder, let encoderContext else {
            context.write(wrapOutboundOut(.end(nil)), promise: promise)
            return flushSoon(context)
        }
        var last = heldHead ?? encoderContext.channel.allocator.buffer(capacity: 5)
        if bodyWriting == .chunkedHere { last.writeStaticString("0\r\n\r\n") }
        heldHead = nil
        bodyWriting = .encoder
        encoderContext.write(NIOAny(IOData.byteBuffer(last)), promise: promise)
        flushSoon(encoderContext)
    }

    /// Flushes what was written so far, at the end of the loop's round.
    func flush() {
        if let head = heldHead, let encoderContext {
            heldHead = nil
            encoderContext.write(NIOAny(IOData.byteBuffer(head)), promise: nil)
        }
        if let context { flushSoon(context) }
    }

    private func flushSoon(_ context: ChannelHandlerContext) {
        if let flushes {
            flushes.flushSoon(context)
        } else {
            context.flush()
        }
    }

    /// Ends the response; the connection is then ready for its next request (or closes when not kept alive).
    func writeEnd() {
        exchange = nil
        guard let context else { return }
        var stillReading = false
        switch state {
        case .responding: state = .idle
        case .discarding: stillReading = true  // closed once the rest of the request has been read
        default: break
        }
        if keepAlive || stillReading {
            writeEndOfBody(context: context, promise: nil)
            if !queued.isEmpty { processQueued() }
        } else {
            // Closing once the answer is flushed; whatever the client sends meanwhile is ignored.
            closing = true
            queued.removeAll()
            let written = context.eventLoop.makePromise(of: Void.self)
            writeEndOfBody(context: context, promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    /// A whole error answer, Anthropic-shaped.
    func writeError(_ error: APIError, requestID: String, route: String, extraFields: ResponseFields? = nil) {
        let body = error.jsonBody(requestID: requestID)
        var fields = ResponseFields()
        fields.add("content-type", "application/json")
        fields.addContentLength(body.count)
        fields.add("request-id", requestID)
        if error.shouldRetry == false { fields.add("x-should-retry", "false") }
        if let extraFields { fields.append(extraFields) }
        writeHead(status: .init(statusCode: error.status), fields: fields)
        var buffer = allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        writeBody(buffer)
        writeEnd()
        runtime.metrics.countRequest(route: route, status: error.status)
    }

    func exchangeFinished(_ finished: MessagesExchange) {
        if exchange === finished { exchange = nil }
    }

    // MARK: connection events

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        queued.removeAll()
        let exchange = self.exchange
        self.exchange = nil
        exchange?.clientDisconnected()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.clientWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        runtime.logger.debug("client connection error", metadata: ["error": "\(error)"])
        // Bytes that are not HTTP/1.1 (the parser cannot find the next request's start): a 400, once the answers
        // before it are written, then the connection closes. NIO's HTTPServerProtocolErrorHandler did this with an
        // empty body, on every write's path; this is the same rule, Anthropic-shaped, at no cost per request.
        // A request cut short by the client's FIN (it closed mid-request) is not a malformed one: no answer.
        if case .invalidEOFState? = error as? HTTPParserError { return close(context) }
        guard error is HTTPParserError, !closing, context.channel.isActive else {
            return close(context)
        }
        switch state {
        case .responding:
            queued.append(.parseError)
        case .idle where !queued.isEmpty:
            queued.append(.parseError)
        case .idle, .receiving:
            answerParseError(context: context)
        case .discarding:
            close(context)
        }
    }

    private func answerParseError(context: ChannelHandlerContext) {
        // Not the answer to the last request: its method (a HEAD would drop this body) and version do not apply.
        requestMethod = .GET
        requestVersion = .http1_1
        keepAlive = false
        queued.removeAll()
        state = .responding
        writeError(.invalidRequest("The request is not valid HTTP/1.1."), requestID: RequestID.make(), route: "other")
    }
}

extension ByteBuffer {
    /// Writes a status line as NIO's encoder does: `HTTP/1.1 200 OK` and CRLF.
    mutating func writeStatusLine(version: HTTPVersion, status: HTTPResponseStatus) {
        if version == .http1_1 && status == .ok {
            writeStaticString("HTTP/1.1 200 OK\r\n")
            return
        }
        writeStaticString("HTTP/")
        writeDecimal(version.major)
        writeInteger(UInt8(ascii: "."))
        writeDecimal(version.minor)
        writeInteger(UInt8(ascii: " "))
        writeDecimal(Int(status.code))
        writeInteger(UInt8(ascii: " "))
        writeString(status.reasonPhrase)
        writeStaticString("\r\n")
    }

    /// Writes a chunked-encoding size line: `size` in lower-case hex, then CRLF (as NIO's encoder writes it).
    mutating func writeChunkSizeLine(_ size: Int) {
        precondition(size > 0)
        let digits = (Int.bitWidth - size.leadingZeroBitCount + 3) / 4
        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
            let nibble = UInt8((size >> shift) & 0xF)
            writeInteger(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
        }
        writeStaticString("\r\n")
    }
}
