import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SwitchyardAccounts
import SwitchyardConfig
import SwitchyardEventStream
import SwitchyardMessages
import SwitchyardModeration
import SwitchyardProviders
import SwitchyardTranslation
import SwitchyardRouting

/// One `/v1/messages` (or `/v1/messages/count_tokens`) request, from the collected client body to the last byte
/// of the answer, on the client connection's event loop.
///
/// Order of work: authenticate (from memory) → validate → route → check credits → send upstream on a pooled
/// connection → relay. Streams are relayed chunk by chunk as they arrive and parsed only to read usage; JSON answers
/// are read whole (bounded), checked and sent with one flush. Whatever happens — success, upstream error, upstream
/// cut, timeout, client gone — ``finish(status:errorType:)`` records the usage exactly once.
final class MessagesExchange: UpstreamResponseDelegate {
    enum Kind { case messages, countTokens }

    private enum Phase {
        case starting
        case waitingForUpstream
        case relayingStream
        case bufferingBody
        case finished
    }

    /// The largest upstream JSON answer the gateway reads; an error body is cut off much earlier.
    private static let maxAnswerBytes = 64 << 20
    private static let maxErrorBytes = 64 << 10

    private let kind: Kind
    private let clientHead: HTTPRequestHead
    private let query: Substring?
    private let connection: ClientConnectionHandler
    private let runtime: GatewayRuntime
    private let pool: UpstreamConnectionPool
    private var clientBody: ByteBuffer
    let requestID = RequestID.make()
    private let startedAt = NIODeadline.now()

    private var phase = Phase.starting
    private var key: KeySnapshot?
    private var route: PreparedRoute?
    private var requestedModel = ""
    private var isStream = false
    /// The client's response head is written: from here on, failures are SSE `error` events.
    private var committed = false
    private var upstream: UpstreamConnection?
    private var forwardedBody: ByteBuffer?
    private var resentOnFreshConnection = false
    private var upstreamHead: HTTPResponseHead?
    private var answer: ByteBuffer?
    private var parser = ServerSentEventParser()
    private var usage = StreamUsageAccumulator()
    private var jsonUsage: Usage?
    private var deltaEvents = 0
    private var sawUpstreamErrorEvent = false
    private var firstTokenAt: NIODeadline?
    private var lastUpstreamActivity = NIODeadline.now()
    private var lastClientWrite = NIODeadline.now()
    private var ticker: Scheduled<Void>?
    private var readingPaused = false
    private var recorded = false
    /// Set for a streaming request to an OpenAI-compatible upstream: turns its chunks into Anthropic events.
    private var streamTranslator: OpenAIStreamTranslator?
    /// The translated request, kept to estimate its input when the upstream never reported usage.
    private var translatedRequest: MessagesRequest?
    /// The request's `stop_sequences`, for translating an OpenAI answer's stop reason.
    private var stopSequences: [String] = []
    /// The moderation result, recorded with the usage (moderated models only).
    private var moderationResult: String?
    /// The key's rate-limit figures at admission, sent as `anthropic-ratelimit-*` headers (limited keys only).
    private var rateLimits: RateLimiter.Decision?

    init(
        kind: Kind, head: HTTPRequestHead, body: ByteBuffer, query: Substring?,
        connection: ClientConnectionHandler, runtime: GatewayRuntime, pool: UpstreamConnectionPool
    ) {
        self.kind = kind
        self.clientHead = head
        self.clientBody = body
        self.query = query
        self.connection = connection
        self.runtime = runtime
        self.pool = pool
    }

    private var routeLabel: String { kind == .messages ? "/v1/messages" : "/v1/messages/count_tokens" }

    // MARK: - Admission

    func start() {
        guard let secret = Self.clientKey(in: clientHead.headers) else {
            return reject(.authentication("Missing API key: send it in the `x-api-key` header or as `Authorization: Bearer <key>`."))
        }
        guard APIKeySecret.looksValid(secret) else {
            return reject(.authentication("Invalid API key."))
        }
        let hash = APIKeySecret.hash(secret)
        switch runtime.ledger.lookup(hash: hash) {
        case .found(let snapshot):
            authenticated(snapshot)
        case .absent:
            reject(.authentication("Invalid API key."))
        case .unknown:
            let ledger = runtime.ledger
            let loop = pool.eventLoop
            loop.makeFutureWithTask { try await ledger.load(hash: hash) }.assumeIsolated().whenComplete { result in
                switch result {
                case .success(let snapshot?): self.authenticated(snapshot)
                case .success(nil): self.reject(.authentication("Invalid API key."))
                case .failure(let error):
                    self.runtime.logger.error("key lookup failed", metadata: ["error": "\(error)"])
                    self.reject(APIError(status: 500, type: .api, message: "The gateway could not check the API key; try again."))
                }
            }
        }
    }

    /// The client's key: `x-api-key`, else `Authorization: Bearer`.
    static func clientKey(in headers: HTTPHeaders) -> String? {
        if let key = headers.first(name: "x-api-key"), !key.isEmpty { return key }
        guard let authorization = headers.first(name: "authorization") else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingSpaces
        return token.isEmpty ? nil : token
    }

    private func authenticated(_ snapshot: KeySnapshot) {
        guard connection.isActive else { return finishWithoutAnswer() }
        key = snapshot
        if snapshot.disabled {
            return reject(.authentication("This API key is disabled."))
        }
        let model: String
        let body: [UInt8]
        var root: JSONObject?
        do {
            switch kind {
            case .messages:
                let request = try clientBody.withUnsafeReadableBytes { try MessagesRequest.parse($0) }
                model = request.model
                isStream = request.stream
                requestedModel = model
                root = request.root
                guard let route = resolve(model) else { return }
                switch route.upstream {
                case .openAI(_, let dialect):
                    body = try OpenAIRequestTranslator.translate(request, upstreamModel: route.upstreamModel, dialect: dialect)
                    stopSequences = request.root["stop_sequences"]?.arrayValue?.compactMap(\.stringValue) ?? []
                    if isStream {
                        translatedRequest = request
                        streamTranslator = OpenAIStreamTranslator(
                            requestedModel: model, requestID: requestID, stopSequences: stopSequences)
                    }
                case .anthropic, nil:
                    body = request.forwardedBody(model: route.upstreamModel)
                }
            case .countTokens:
                let request = try clientBody.withUnsafeReadableBytes { try CountTokensRequest.parse($0) }
                model = request.model
                requestedModel = model
                guard let route = resolve(model) else { return }
                if case .openAI = route.upstream {
                    // OpenAI-compatible APIs cannot count: a local estimate that errs high (never billed).
                    return answerLocally(json: #"{"input_tokens":"# + String(TokenEstimator.estimate(request)) + "}")
                }
                body = request.forwardedBody(model: route.upstreamModel)
            }
        } catch let error as InvalidRequest {
            runtime.logger.info("rejected request", metadata: ["request.id": "\(requestID)", "reason": "\(error.message)"])
            return reject(.invalidRequest(error.message))
        } catch {
            return reject(.invalidRequest("\(error)"))
        }
        guard let route else { return }
        if let allowed = snapshot.models, !allowed.contains(route.modelID), !allowed.contains(requestedModel) {
            return reject(.permission("This API key may not use the model '\(requestedModel)'."))
        }
        if kind == .messages, snapshot.balance <= .zero {
            return reject(.billing("This API key has no credits left (balance \(snapshot.balance.usdString) USD). Add credits to continue."))
        }
        if kind == .messages, route.moderated, let root {
            let input = ModerationInput(request: root)
            switch runtime.moderator {
            case nil:
                // A moderated model whose checker cannot run is refused, never passed unchecked.
                return reject(.upstream("The model '\(route.modelID)' requires moderation, and no moderation checker is configured."))
            case .keywords(let moderator)?:
                if let verdict = moderator.check(input) { return flagged(verdict) }
                moderationResult = "clean"
            case .remote(let moderator)?:
                pool.eventLoop.makeFutureWithTask { try await moderator.check(input) }.assumeIsolated().whenComplete { result in
                    guard self.phase == .starting else { return }
                    guard self.connection.isActive else { return self.finishWithoutAnswer() }
                    switch result {
                    case .success(let verdict?): self.flagged(verdict)
                    case .success(nil):
                        self.moderationResult = "clean"
                        self.admit(snapshot, route: route, body: body)
                    case .failure(let error):
                        self.moderationResult = "unavailable"
                        self.runtime.logger.warning("moderation check failed", metadata: ["request.id": "\(self.requestID)", "error": "\(error)"])
                        self.reject(.upstream("The input could not be moderated: \(error). Nothing was sent to the model."))
                    }
                }
                return
            }
        }
        admit(snapshot, route: route, body: body)
    }

    private func flagged(_ verdict: ModerationVerdict) {
        moderationResult = "flagged: \(verdict.reason) at \(verdict.location)"
        runtime.logger.info("moderation flagged a request", metadata: [
            "request.id": "\(requestID)", "moderation.reason": "\(verdict.reason)", "moderation.location": "\(verdict.location)"])
        reject(.permission("The input was flagged by moderation: \(verdict.reason) matched in \(verdict.location)."))
    }

    /// The last checks before the upstream call: rate limits (which count the request), a servable provider.
    private func admit(_ snapshot: KeySnapshot, route: PreparedRoute, body: [UInt8]) {
        if kind == .messages, snapshot.rpm != nil || snapshot.tpm != nil {
            let decision = runtime.rateLimiter.admit(keyID: snapshot.id, rpm: snapshot.rpm, tpm: snapshot.tpm)
            rateLimits = decision
            if !decision.allowed {
                var headers = HTTPHeaders()
                headers.add(name: "retry-after", value: String(decision.retryAfterSeconds ?? 1))
                return reject(
                    .rateLimited("This API key has reached its limit of \(decision.refusedBy ?? "requests"). Retry after \(decision.retryAfterSeconds ?? 1) s."),
                    extraHeaders: headers)
            }
        }
        guard route.upstream != nil else {
            return reject(.upstream("The model '\(route.modelID)' is served by a '\(route.providerKind.rawValue)' provider, which this gateway version cannot translate to yet."))
        }
        clientBody = ByteBuffer()  // the original is no longer needed
        var buffer = connection.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        forwardedBody = buffer
        phase = .waitingForUpstream
        lastClientWrite = startedAt
        scheduleTick()
        send(fresh: false)
    }

    private func resolve(_ model: String) -> PreparedRoute? {
        if let route = runtime.route(for: model) {
            self.route = route
            return route
        }
        let known = runtime.catalog.knownNames(limit: 12).joined(separator: ", ")
        reject(.invalidRequest("model: unknown model '\(model)'. This gateway serves: \(known)."))
        return nil
    }

    // MARK: - Upstream

    private func send(fresh: Bool) {
        guard let route, let upstream = route.upstream, let body = forwardedBody else { return }
        let head: HTTPRequestHead
        switch upstream {
        case .anthropic(let anthropic):
            let path = kind == .messages ? anthropic.messagesPath : anthropic.countTokensPath
            head = anthropic.requestHead(
                path: path, query: query, clientHeaders: clientHead.headers, bodyLength: body.readableBytes)
        case .openAI(let openAI, _):
            head = openAI.requestHead(bodyLength: body.readableBytes, stream: isStream)
        }
        pool.lease(upstream.origin, connectTimeout: route.timeouts.connect, fresh: fresh) { result in
            guard self.phase == .waitingForUpstream else {
                if case .success(let connection) = result { connection.release() }
                return
            }
            switch result {
            case .success(let connection):
                self.upstream = connection
                connection.send(head: head, body: body, delegate: self)
            case .failure(let error):
                self.failBeforeAnswer(error)
            }
        }
    }

    func upstreamHead(_ head: HTTPResponseHead) {
        guard phase == .waitingForUpstream else { return }
        lastUpstreamActivity = .now()
        upstreamHead = head
        if head.status == .ok && kind == .messages && isStream {
            phase = .relayingStream
            if !committed { commitStream() }
        } else {
            phase = .bufferingBody
            let expected = head.headers.first(name: "content-length").flatMap(Int.init) ?? 4096
            answer = connection.allocator.buffer(capacity: min(expected, Self.maxAnswerBytes))
        }
    }

    func upstreamBody(_ buffer: ByteBuffer) {
        lastUpstreamActivity = .now()
        switch phase {
        case .relayingStream:
            if streamTranslator != nil {
                return relayTranslated(buffer)
            }
            do {
                try parser.feed(buffer) { event in self.observe(event) }
            } catch {
                // An event larger than the parser's bound: the upstream is not speaking SSE we can bill from.
                return failAfterCommit(.upstream("The upstream sent an invalid event stream."), errorType: "invalid_upstream_stream")
            }
            connection.writeBody(buffer)
            lastClientWrite = lastUpstreamActivity
            if !connection.isWritable, !readingPaused {
                readingPaused = true
                upstream?.setReading(false)
            }
        case .bufferingBody:
            guard var answer else { return }
            let limit = upstreamHead?.status == .ok ? Self.maxAnswerBytes : Self.maxErrorBytes
            if answer.readableBytes + buffer.readableBytes <= limit {
                self.answer = nil  // keep the buffer uniquely referenced while appending
                var chunk = buffer
                answer.writeBuffer(&chunk)
                self.answer = answer
            } else if upstreamHead?.status == .ok {
                return failBeforeAnswer(.upstream("The upstream's answer is larger than the gateway accepts."), errorType: "answer_too_large")
            }
        case .starting, .waitingForUpstream, .finished:
            break
        }
    }

    func upstreamReadComplete() {
        if phase == .relayingStream { connection.flush() }
    }

    func upstreamEnd() {
        switch phase {
        case .relayingStream where streamTranslator != nil:
            releaseUpstream()
            let tail = streamTranslator?.finish() ?? []
            writeTranslated(tail)
            connection.writeEnd()
            finish(status: 200, errorType: streamTranslator?.failed == true ? "upstream_cut" : nil)
        case .relayingStream:
            releaseUpstream()
            if sawUpstreamErrorEvent {
                connection.writeEnd()
                return finish(status: 200, errorType: "upstream_stream_error")
            }
            if !usage.sawMessageStop || parser.hasPartialEvent {
                return failAfterCommit(
                    .upstream("The upstream ended the stream before it was complete."), errorType: "upstream_cut")
            }
            connection.writeEnd()
            finish(status: 200, errorType: nil)
        case .bufferingBody:
            releaseUpstream()
            answerBuffered()
        case .starting, .waitingForUpstream, .finished:
            releaseUpstream()
        }
    }

    func upstreamFailed(_ error: UpstreamConnectionError) {
        let wasReused = upstream?.isReused ?? false
        upstream = nil
        switch phase {
        case .waitingForUpstream where error.beforeResponseHead && wasReused && !resentOnFreshConnection:
            // A kept-alive connection the upstream had closed: send once more on a new one.
            resentOnFreshConnection = true
            send(fresh: true)
        case .waitingForUpstream, .bufferingBody:
            failBeforeAnswer(error)
        case .relayingStream:
            failAfterCommit(.upstream("The connection to the upstream provider was lost mid-stream."), errorType: "upstream_cut")
        case .starting, .finished:
            break
        }
    }

    private func releaseUpstream() {
        let connection = upstream
        upstream = nil
        connection?.release()
    }

    /// A whole upstream answer is in: pass a success on with its usage, or map the upstream's error.
    private func answerBuffered() {
        guard let head = upstreamHead, var answer else { return }
        self.answer = nil
        let status = Int(head.status.code)
        if status == 200 {
            if kind == .messages, case .openAI = route?.upstream {
                do {
                    let bytes = answer.readBytes(length: answer.readableBytes) ?? []
                    let translated = try OpenAIResponseTranslator.translate(
                        bytes, requestedModel: requestedModel, stopSequences: stopSequences)
                    jsonUsage = translated.usage
                    answer = connection.allocator.buffer(capacity: translated.message.count)
                    answer.writeBytes(translated.message)
                } catch {
                    return failBeforeAnswer(error.apiError, errorType: "invalid_upstream_answer")
                }
            } else if kind == .messages {
                guard let parsed = answer.withUnsafeReadableBytes({ AnthropicResponse.usage(fromMessageJSON: $0) }) else {
                    return failBeforeAnswer(.upstream("The upstream provider '\(route?.providerID ?? "")' answered with an invalid message."), errorType: "invalid_upstream_answer")
                }
                jsonUsage = parsed.usage
            }
            if committed {
                // Keep-alive comments already went out as SSE: the client asked for a stream, so this cannot happen
                // for a 200 (a streaming request gets an event stream). Treat it as invalid.
                return failAfterCommit(.upstream("The upstream answered a streaming request with JSON."), errorType: "invalid_upstream_answer")
            }
            var headers = baseHeaders()
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(answer.readableBytes))
            connection.writeHead(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))
            connection.writeBody(answer.readSlice(length: answer.readableBytes)!)
            connection.writeEnd()
            runtime.metrics.countRequest(route: routeLabel, status: 200)
            finish(status: 200, errorType: nil)
            return
        }
        let body = answer.readBytes(length: answer.readableBytes) ?? []
        let error = UpstreamErrorMapping.clientError(status: status, body: body, providerID: route?.providerID ?? "")
        if status == 401 || status == 403 {
            runtime.logger.error(
                "upstream rejected the provider key",
                metadata: ["provider": "\(route?.providerID ?? "")", "status": "\(status)", "request.id": "\(requestID)"])
        } else {
            runtime.logger.info(
                "upstream error", metadata: ["provider": "\(route?.providerID ?? "")", "status": "\(status)", "request.id": "\(requestID)"])
        }
        var extra = HTTPHeaders()
        if status == 429 {
            for name in ["retry-after", "retry-after-ms"] {
                if let value = head.headers.first(name: name) { extra.add(name: name, value: value) }
            }
        }
        if committed {
            failAfterCommit(error, errorType: error.type.rawValue)
        } else {
            reject(error, extraHeaders: extra)
        }
    }

    // MARK: - Streaming

    private func baseHeaders() -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "request-id", value: requestID)
        if let figures = rateLimitFigures() { headers.addRateLimits(figures) }
        if let route {
            headers.add(name: "x-switchyard-provider", value: route.providerID)
            headers.add(name: "x-switchyard-model", value: route.modelID)
        }
        return headers
    }

    /// A limited key's figures: as admitted, or (for answers decided before admission) as they stand.
    private func rateLimitFigures() -> RateLimiter.Decision? {
        if let rateLimits { return rateLimits }
        guard let key, key.rpm != nil || key.tpm != nil else { return nil }
        return runtime.rateLimiter.status(keyID: key.id, rpm: key.rpm, tpm: key.tpm)
    }

    private func commitStream() {
        var headers = baseHeaders()
        headers.add(name: "content-type", value: "text/event-stream; charset=utf-8")
        headers.add(name: "cache-control", value: "no-cache")
        connection.writeHead(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))
        committed = true
        runtime.metrics.countRequest(route: routeLabel, status: 200)
    }

    private func observe(_ event: ServerSentEvent) {
        guard let name = event.event else { return }
        switch name {
        case "content_block_delta":
            deltaEvents += 1
            if firstTokenAt == nil { firstTokenAt = .now() }
        case "message_start", "message_delta":
            event.data.withUnsafeReadableBytes { usage.observe(eventName: name, data: $0) }
        case "message_stop":
            usage.markStop()
        case "error":
            sawUpstreamErrorEvent = true
        default:
            break
        }
    }

    /// Relays an OpenAI-compatible upstream's chunks as Anthropic events.
    private func relayTranslated(_ buffer: ByteBuffer) {
        do {
            try parser.feed(buffer) { event in
                let output = try event.data.withUnsafeReadableBytes { try self.streamTranslator!.feed(data: $0) }
                self.writeTranslated(output)
            }
        } catch let error as TranslationError {
            return failAfterCommit(error.apiError, errorType: "invalid_upstream_stream")
        } catch {
            return failAfterCommit(.upstream("The upstream sent an invalid event stream."), errorType: "invalid_upstream_stream")
        }
        if !connection.isWritable, !readingPaused {
            readingPaused = true
            upstream?.setReading(false)
        }
    }

    private func writeTranslated(_ output: [UInt8]) {
        guard !output.isEmpty else { return }
        if firstTokenAt == nil, output.containsContentDelta { firstTokenAt = .now() }
        var buffer = connection.allocator.buffer(capacity: output.count)
        buffer.writeBytes(output)
        connection.writeBody(buffer)
        lastClientWrite = lastUpstreamActivity
    }

    /// Answers from the gateway itself (a 200 JSON body), without any upstream.
    private func answerLocally(json: String) {
        var headers = baseHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(json.utf8.count))
        connection.writeHead(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))
        var buffer = connection.allocator.buffer(capacity: json.utf8.count)
        buffer.writeString(json)
        connection.writeBody(buffer)
        connection.writeEnd()
        runtime.metrics.countRequest(route: routeLabel, status: 200)
        finish(status: 200, errorType: nil)
    }

    func clientWritabilityChanged(_ writable: Bool) {
        if writable, readingPaused {
            readingPaused = false
            upstream?.setReading(true)
        }
    }

    // MARK: - Time

    private func scheduleTick() {
        ticker = pool.eventLoop.assumeIsolated().scheduleTask(in: runtime.tick) { [weak self] in
            guard let self, self.phase != .finished else { return }
            self.tick()
            if self.phase != .finished { self.scheduleTick() }
        }
    }

    private func tick() {
        let now = NIODeadline.now()
        guard let route else { return }
        let timeouts = route.timeouts
        if now - startedAt > timeouts.total {
            return timedOut("The request exceeded the gateway's total time limit.")
        }
        switch phase {
        case .waitingForUpstream:
            if now - startedAt > timeouts.firstByte {
                return timedOut("The upstream provider '\(route.providerID)' sent no answer within the first-byte time limit.")
            }
            // Keep a waiting stream's connection alive with SSE comments, which no client mistakes for progress.
            if kind == .messages, isStream, now - lastClientWrite >= runtime.streamKeepAliveInterval {
                if !committed { commitStream() }
                var comment = connection.allocator.buffer(capacity: 16)
                comment.writeServerSentEventComment("keepalive")
                connection.writeBody(comment)
                connection.flush()
                lastClientWrite = now
            }
        case .relayingStream, .bufferingBody:
            if now - lastUpstreamActivity > timeouts.idle {
                return timedOut("The upstream provider '\(route.providerID)' went silent for longer than the idle time limit.")
            }
        case .starting, .finished:
            break
        }
    }

    private func timedOut(_ message: String) {
        upstream?.close()
        upstream = nil
        if committed {
            failAfterCommit(.timeout(message), errorType: "timeout_error")
        } else {
            reject(.timeout(message))
        }
    }

    // MARK: - Endings

    private func failBeforeAnswer(_ error: UpstreamConnectionError) {
        let message = "The upstream provider '\(route?.providerID ?? "")' could not be reached: \(error)."
        runtime.logger.warning("upstream failure", metadata: ["request.id": "\(requestID)", "error": "\(error)"])
        if committed {
            failAfterCommit(.upstream(message), errorType: "upstream_unreachable")
        } else {
            reject(.upstream(message))
        }
    }

    private func failBeforeAnswer(_ error: APIError, errorType: String) {
        upstream?.close()
        upstream = nil
        if committed { failAfterCommit(error, errorType: errorType) } else { reject(error) }
    }

    /// Answers with an error status (nothing was sent yet).
    private func reject(_ error: APIError, extraHeaders: HTTPHeaders = [:]) {
        guard phase != .finished else { return }
        var headers = extraHeaders
        if route != nil {
            headers.add(contentsOf: baseHeaders().filter { $0.name != "request-id" })
        } else if let figures = rateLimitFigures() {
            headers.addRateLimits(figures)
        }
        if connection.isActive {
            connection.writeError(error, requestID: requestID, route: routeLabel, extraHeaders: headers)
        }
        finish(status: error.status, errorType: error.type.rawValue)
    }

    /// Ends a committed stream with an SSE `error` event.
    private func failAfterCommit(_ error: APIError, errorType: String) {
        guard phase != .finished else { return }
        upstream?.close()
        upstream = nil
        var buffer = connection.allocator.buffer(capacity: 256)
        buffer.writeBytes(error.sseEvent(requestID: requestID))
        connection.writeBody(buffer)
        connection.writeEnd()
        finish(status: 200, errorType: errorType)
    }

    /// The client went away: cancel the upstream request at once and bill what was produced.
    func clientDisconnected() {
        guard phase != .finished else { return }
        upstream?.close()
        upstream = nil
        finish(status: 499, errorType: "client_disconnected")
    }

    private func finishWithoutAnswer() {
        finish(status: 499, errorType: "client_disconnected")
    }

    /// Stops timers, frees the connection and records the usage — exactly once.
    private func finish(status: Int, errorType: String?) {
        guard phase != .finished else { return }
        phase = .finished
        ticker?.cancel()
        ticker = nil
        if let upstream {
            self.upstream = nil
            upstream.close()
        }
        connection.exchangeFinished(self)
        record(status: status, errorType: errorType)
    }

    private func record(status: Int, errorType: String?) {
        guard !recorded, kind == .messages, let key else { return }
        recorded = true
        var tokens: TokenUsage
        if let jsonUsage {
            tokens = TokenUsage(jsonUsage)
        } else if let streamTranslator {
            tokens = TokenUsage(streamTranslator.usage)
            if upstreamHead?.status == .ok, !streamTranslator.usageReported, tokens.input == 0,
               let translatedRequest {
                // Chat Completions reports usage only at the end: a stream that broke before it still had its
                // prompt read upstream. Bill the gateway's own estimate of it (the one count_tokens gives).
                tokens.input = TokenEstimator.estimate(translatedRequest)
            }
        } else {
            tokens = TokenUsage(usage.usage)
            if !usage.sawMessageDelta {
                // Cut before the final usage arrived: bill at least one output token per delta relayed.
                tokens.output = max(tokens.output, deltaEvents)
            }
        }
        let cost = route.map { SwitchyardAccounts.cost(of: tokens, at: $0.prices) } ?? .zero
        // TPM counts what the model read and wrote; cache reads are not counted (as Anthropic's own limits).
        runtime.rateLimiter.recordTokens(keyID: key.id, tpm: key.tpm, tokens: tokens.input + tokens.cacheWrite + tokens.output)
        let now = NIODeadline.now()
        let record = UsageRecord(
            id: requestID,
            keyID: key.id,
            model: route?.modelID ?? requestedModel,
            provider: route?.providerID ?? "",
            upstreamModel: route?.upstreamModel ?? "",
            usage: tokens,
            cost: cost,
            status: status,
            latencyMs: Int((now - startedAt).nanoseconds / 1_000_000),
            ttftMs: firstTokenAt.map { Int(($0 - startedAt).nanoseconds / 1_000_000) },
            stream: isStream,
            errorType: errorType,
            moderation: moderationResult,
            createdAt: Date())
        runtime.ledger.charge(record)
    }
}

extension TokenUsage {
    init(_ usage: Usage) {
        self.init(
            input: usage.inputTokens, output: usage.outputTokens,
            cacheRead: usage.cacheReadInputTokens, cacheWrite: usage.cacheCreationInputTokens)
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

extension [UInt8] {
    /// Whether these Anthropic SSE bytes carry a `content_block_delta` event (the first token, for TTFT).
    var containsContentDelta: Bool {
        let needle = Array("content_block_delta".utf8)
        guard count >= needle.count else { return false }
        return withUnsafeBufferPointer { bytes in
            for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
                if bytes[start..<start + needle.count].elementsEqual(needle) { return true }
            }
            return false
        }
    }
}

extension HTTPHeaders {
    /// The `anthropic-ratelimit-*` headers of a limited key (reset times in RFC 3339).
    mutating func addRateLimits(_ decision: RateLimiter.Decision) {
        for (name, window) in [("requests", decision.requests), ("tokens", decision.tokens)] {
            guard let window else { continue }
            add(name: "anthropic-ratelimit-\(name)-limit", value: String(window.limit))
            add(name: "anthropic-ratelimit-\(name)-remaining", value: String(window.remaining))
            add(name: "anthropic-ratelimit-\(name)-reset",
                value: Date(timeIntervalSince1970: window.resetAt.rounded(.up)).ISO8601Format())
        }
    }
}
