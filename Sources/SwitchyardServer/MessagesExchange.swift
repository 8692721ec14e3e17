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
import SwitchyardRouting
import SwitchyardTranslation

/// One `/v1/messages` (or `/v1/messages/count_tokens`) request, from the collected client body to the last byte
/// of the answer, on the client connection's event loop.
///
/// Order of work: authenticate (from memory) → validate → resolve the model and its fallbacks → permission →
/// credits → plan the endpoints (request preferences, circuits) → moderation → rate limits → attempts.
///
/// Attempts: the planned endpoints are tried in order. A retryable failure (connect error, timeout, upstream 401,
/// 403, 404, 408, 429, 5xx, 529, an invalid answer, a stream that breaks before its first content event) moves to
/// the next endpoint as long as nothing of an answer has reached the client; after that it becomes an SSE `error`
/// event. A stream is held back until its first content event (`content_block_*`, `message_delta`,
/// `message_stop`), so an upstream that opens a stream and then fails is still retried elsewhere.
///
/// Whatever happens — success, upstream error, upstream cut, timeout, client gone — ``finish(status:errorType:)``
/// records the usage, with every attempt, exactly once; only the attempt that answered is billed.
final class MessagesExchange: UpstreamResponseDelegate, Ticking {
    enum Kind { case messages, countTokens }

    private enum Phase {
        case starting
        case waitingForUpstream
        /// A 200 event stream whose first content event has not arrived: held back, still retryable.
        case openingStream
        case relayingStream
        case bufferingBody
        case finished
    }

    /// How an attempt ended, for the endpoint's health.
    private enum Verdict {
        case success(latency: Double?, throughput: Double?)
        case failure
        case abandoned
    }

    /// The largest upstream JSON answer the gateway reads; an error body is cut off much earlier.
    private static let maxAnswerBytes = 64 << 20
    private static let maxErrorBytes = 64 << 10
    /// The most stream bytes held back before the first content event.
    private static let maxOpeningBytes = 1 << 20

    private let kind: Kind
    private let clientHead: HTTPRequestHead
    private let query: Substring?
    private let connection: ClientConnectionHandler
    private let runtime: GatewayRuntime
    private let pool: UpstreamConnectionPool
    private var clientBody: ByteBuffer
    let requestID = RequestID.make()
    private let startedAt = NIODeadline.now()

    // Request state.
    private var phase = Phase.starting
    private var key: KeySnapshot?
    private var requestedModel = ""
    private var isStream = false
    private var messagesRequest: MessagesRequest?
    private var countRequest: CountTokensRequest?
    /// The endpoints to try, in order, and the next one's index.
    private var plan: [PreparedRoute] = []
    private var nextAttempt = 0
    private var attempts: [UpstreamAttempt] = []
    /// The last retryable failure, answered when no endpoint is left.
    private var lastFailure: (error: APIError, headers: HTTPHeaders)?
    /// Why an endpoint could not be given the request at all (a translator refusal), answered if none could.
    private var refusal: APIError?
    /// The current (or last) attempt's endpoint: the one named in headers and billed.
    private var route: PreparedRoute?
    /// The client's response head is written: from here on, failures are SSE `error` events.
    private var committed = false
    /// Part of an upstream answer reached the client: no other endpoint may be tried.
    private var relayedContent = false
    private var recorded = false
    private var firstTokenAt: NIODeadline?
    private var lastClientWrite = NIODeadline.now()
    private let ticker: ExchangeTicker
    /// This exchange's place in its loop's ticker while it is ticked.
    var tickerSlot: Int?
    private var readingPaused = false
    /// The request's `stop_sequences`, for translating an OpenAI answer's stop reason.
    private var stopSequences: [String] = []
    /// The moderation result, recorded with the usage (moderated models only).
    private var moderationResult: String?
    /// The key's rate-limit figures at admission, sent as `anthropic-ratelimit-*` headers (limited keys only).
    private var rateLimits: RateLimiter.Decision?

    // Attempt state, reset by `beginAttempt`.
    private var attemptGeneration = 0
    private var attemptOpen = false
    private var attemptStartedAt = NIODeadline.now()
    private var upstream: UpstreamConnection?
    private var forwardedBody: ByteBuffer?
    private var resentOnFreshConnection = false
    private var upstreamHead: HTTPResponseHead?
    private var headAt: NIODeadline?
    private var answer: ByteBuffer?
    private var parser = ServerSentEventParser()
    private var usage = StreamUsageAccumulator()
    private var jsonUsage: Usage?
    private var deltaEvents = 0
    private var sawUpstreamErrorEvent = false
    private var lastUpstreamActivity = NIODeadline.now()
    /// Stream bytes held back while the stream is opening.
    private var pending: ByteBuffer?
    /// Set by `observe` while opening: the first content event arrived.
    private var streamOpened = false
    /// Set by `observe` while opening: the upstream sent an `error` event, or events out of order.
    private var openingFailure: (outcome: String, error: APIError, retryable: Bool)?
    private var firstEventAt: NIODeadline?
    /// Set for a streaming request to an OpenAI-compatible upstream: turns its chunks into Anthropic events.
    private var streamTranslator: OpenAIStreamTranslator?

    init(
        kind: Kind, head: HTTPRequestHead, body: ByteBuffer, query: Substring?,
        connection: ClientConnectionHandler, runtime: GatewayRuntime, locals: EventLoopLocals.Local
    ) {
        self.kind = kind
        self.clientHead = head
        self.clientBody = body
        self.query = query
        self.connection = connection
        self.runtime = runtime
        self.pool = locals.pool
        self.ticker = locals.ticker
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
        let names: [String]
        let features: RequestFeatures
        let preferences: RoutingPreferences
        do {
            switch kind {
            case .messages:
                let request = try clientBody.withUnsafeReadableBytes { try MessagesRequest.parse($0) }
                requestedModel = request.model
                isStream = request.stream
                names = [request.model] + request.fallbackModels
                features = RequestFeatures(request)
                preferences = try RoutingPreferences.parse(request.providerPreferences)
                stopSequences = request.stopSequences
                messagesRequest = request
            case .countTokens:
                let request = try clientBody.withUnsafeReadableBytes { try CountTokensRequest.parse($0) }
                requestedModel = request.model
                names = [request.model] + request.fallbackModels
                features = RequestFeatures(request)
                preferences = try RoutingPreferences.parse(request.providerPreferences)
                countRequest = request
            }
        } catch let error as InvalidRequest {
            runtime.logger.info("rejected request", metadata: ["request.id": "\(requestID)", "reason": "\(error.message)"])
            return reject(.invalidRequest(error.message))
        } catch {
            return reject(.invalidRequest("\(error)"))
        }
        clientBody = ByteBuffer()  // parsed: the original is no longer needed

        var models: [PreparedModel] = []
        for (index, name) in names.enumerated() {
            guard let model = runtime.model(named: name) else {
                let known = runtime.catalog.knownNames(limit: 12).joined(separator: ", ")
                let field = index == 0 ? "model" : "models.\(index - 1)"
                return reject(.invalidRequest("\(field): unknown model '\(name)'. This gateway serves: \(known)."))
            }
            if let allowed = snapshot.models, !allowed.contains(model.id), !allowed.contains(name) {
                return reject(.permission("This API key may not use the model '\(name)'."))
            }
            if !models.contains(where: { $0.id == model.id }) { models.append(model) }
        }
        if kind == .messages, snapshot.balance <= .zero {
            return reject(.billing("This API key has no credits left (balance \(snapshot.balance.usdString) USD). Add credits to continue."))
        }
        let planned = RoutePlanner.plan(
            models: models.map(\.endpoints), features: features, preferences: preferences, health: runtime.health)
        guard !planned.attempts.isEmpty else {
            var headers = HTTPHeaders()
            if let seconds = planned.retryAfterSeconds { headers.add(name: "retry-after", value: String(max(1, seconds))) }
            // Only an open circuit can change its verdict later: without one, a retry cannot help.
            return reject(.overloaded(planned.explanation, noRoute: planned.retryAfterSeconds == nil), extraHeaders: headers)
        }
        plan = planned.attempts

        if kind == .messages, let moderated = models.first(where: \.moderated), let root = messagesRequest?.root {
            let input = ModerationInput(request: root)
            switch runtime.moderator {
            case nil:
                // A moderated model whose checker cannot run is refused, never passed unchecked.
                return reject(.upstream("The model '\(moderated.id)' requires moderation, and no moderation checker is configured."))
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
                        self.admit(snapshot)
                    case .failure(let error):
                        self.moderationResult = "unavailable"
                        self.runtime.logger.warning("moderation check failed", metadata: ["request.id": "\(self.requestID)", "error": "\(error)"])
                        self.reject(.upstream("The input could not be moderated: \(error). Nothing was sent to the model."))
                    }
                }
                return
            }
        }
        admit(snapshot)
    }

    private func flagged(_ verdict: ModerationVerdict) {
        moderationResult = "flagged: \(verdict.reason) at \(verdict.location)"
        runtime.logger.info("moderation flagged a request", metadata: [
            "request.id": "\(requestID)", "moderation.reason": "\(verdict.reason)", "moderation.location": "\(verdict.location)"])
        reject(.permission("The input was flagged by moderation: \(verdict.reason) matched in \(verdict.location)."))
    }

    /// The last check before the upstream calls: rate limits (which count the request).
    private func admit(_ snapshot: KeySnapshot) {
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
        lastClientWrite = startedAt
        ticker.join(self)
        startNextAttempt()
    }

    // MARK: - Attempts

    /// Starts the next planned endpoint that can take the request, or answers with the last failure.
    private func startNextAttempt() {
        while nextAttempt < plan.count, phase != .finished {
            let candidate = plan[nextAttempt]
            nextAttempt += 1
            if NIODeadline.now() - startedAt > candidate.timeouts.total {
                return totalTimeLimitReached()
            }
            if kind == .countTokens, case .openAI = candidate.upstream, let countRequest {
                // OpenAI-compatible APIs cannot count: a local estimate that errs high (never billed).
                route = candidate
                return answerLocally(json: #"{"input_tokens":"# + String(TokenEstimator.estimate(countRequest)) + "}")
            }
            guard runtime.health.beginAttempt(candidate.healthKey) else {
                // Opened by another request since this one was planned.
                attempts.append(UpstreamAttempt(
                    provider: candidate.providerID, model: candidate.modelID, upstreamModel: candidate.upstreamModel,
                    outcome: "circuit_open", latencyMs: 0))
                continue
            }
            route = candidate
            resetAttemptState()
            guard let body = upstreamBody(for: candidate) else {
                endAttempt(outcome: "not_translatable", verdict: .abandoned)
                continue
            }
            forwardedBody = body
            phase = .waitingForUpstream
            return send(fresh: false)
        }
        guard phase != .finished else { return }
        answerWithLastFailure()
    }

    private func resetAttemptState() {
        attemptGeneration += 1
        attemptOpen = true
        attemptStartedAt = .now()
        lastUpstreamActivity = attemptStartedAt
        upstream = nil
        forwardedBody = nil
        resentOnFreshConnection = false
        upstreamHead = nil
        headAt = nil
        answer = nil
        parser = ServerSentEventParser()
        usage = StreamUsageAccumulator()
        jsonUsage = nil
        deltaEvents = 0
        sawUpstreamErrorEvent = false
        pending = nil
        streamOpened = false
        openingFailure = nil
        firstEventAt = nil
        firstTokenAt = nil
        streamTranslator = nil
    }

    /// The request in the endpoint's dialect, or nil (with `refusal` set) when the endpoint cannot take it.
    private func upstreamBody(for candidate: PreparedRoute) -> ByteBuffer? {
        switch (candidate.upstream, kind) {
        case (.anthropic?, .messages):
            guard let request = messagesRequest else { return nil }
            // Copied once, piece by piece, from the client's bytes into the buffer sent upstream.
            var buffer = connection.allocator.buffer(capacity: request.body.count + candidate.upstreamModel.utf8.count + 8)
            request.writeAnthropicBody(model: candidate.upstreamModel) { buffer.writeBytes($0) }
            return buffer
        case (.anthropic?, .countTokens):
            return countRequest.map { buffer($0.forwardedBody(model: candidate.upstreamModel)) }
        case (.openAI(_, let dialect)?, .messages):
            guard let request = messagesRequest else { return nil }
            do {
                let body = try OpenAIRequestTranslator.translate(
                    request, upstreamModel: candidate.upstreamModel, dialect: dialect)
                if isStream {
                    streamTranslator = OpenAIStreamTranslator(
                        requestedModel: requestedModel, requestID: requestID, stopSequences: stopSequences)
                }
                return buffer(body)
            } catch {
                refusal = refusal ?? .invalidRequest(error.message)
                return nil
            }
        case (.openAI?, .countTokens):
            return nil  // answered locally before an attempt starts
        case (nil, _):
            refusal = refusal ?? .upstream(
                "The model '\(candidate.modelID)' is served by a '\(candidate.providerKind.rawValue)' provider, which this gateway version cannot translate to yet.")
            return nil
        }
    }

    /// `bytes` in a buffer of the client connection's allocator.
    private func buffer(_ bytes: [UInt8]) -> ByteBuffer {
        var buffer = connection.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        return buffer
    }

    /// Closes the current attempt's record and tells the endpoint's health how it went.
    private func endAttempt(outcome: String, verdict: Verdict) {
        guard attemptOpen, let route else { return }
        attemptOpen = false
        let elapsed = NIODeadline.now() - attemptStartedAt
        attempts.append(UpstreamAttempt(
            provider: route.providerID, model: route.modelID, upstreamModel: route.upstreamModel,
            outcome: outcome, latencyMs: Int(elapsed.nanoseconds / 1_000_000)))
        switch verdict {
        case .success(let latency, let throughput):
            runtime.health.recordSuccess(route.healthKey, latency: latency, throughput: throughput)
        case .failure:
            runtime.health.recordFailure(route.healthKey)
        case .abandoned:
            runtime.health.recordAbandoned(route.healthKey)
        }
    }

    /// A retryable failure of the current attempt: the next endpoint, unless part of an answer already reached the
    /// client (then the stream ends with an `error` event).
    private func attemptFailed(outcome: String, error: APIError, headers: HTTPHeaders = [:]) {
        guard phase != .finished else { return }
        upstream?.close()
        upstream = nil
        endAttempt(outcome: outcome, verdict: .failure)
        runtime.logger.warning("upstream attempt failed", metadata: [
            "request.id": "\(requestID)", "provider": "\(route?.providerID ?? "")",
            "upstream.model": "\(route?.upstreamModel ?? "")", "outcome": "\(outcome)"])
        if relayedContent {
            return failAfterCommit(error, errorType: outcome)
        }
        lastFailure = (error, headers)
        guard connection.isActive else { return finish(status: 499, errorType: "client_disconnected") }
        phase = .starting
        startNextAttempt()
    }

    /// No endpoint is left: the last failure (a 408, a 429 with the upstream's `retry-after`, or a 502 naming the
    /// last upstream's reason), or the reason no endpoint could take the request.
    private func answerWithLastFailure() {
        let tried = attempts.filter { $0.outcome != "circuit_open" && $0.outcome != "not_translatable" }.count
        var error: APIError
        var headers = HTTPHeaders()
        if let lastFailure {
            error = lastFailure.error
            headers = lastFailure.headers
            if tried > 1 {
                error = APIError(
                    status: error.status, type: error.type,
                    message: "All \(tried) upstream attempts failed; the last: \(error.message)",
                    shouldRetry: error.shouldRetry, retryAfterSeconds: error.retryAfterSeconds)
            }
        } else if let refusal {
            error = refusal
        } else {
            error = .overloaded("No endpoint can serve this request: every eligible endpoint's circuit is open.")
        }
        if committed {
            failAfterCommit(error, errorType: error.type.rawValue)
        } else {
            reject(error, extraHeaders: headers)
        }
    }

    private func send(fresh: Bool) {
        guard let route, let upstream = route.upstream, let body = forwardedBody else { return }
        let head: UpstreamRequestHead
        switch upstream {
        case .anthropic(let anthropic):
            let path = kind == .messages ? anthropic.messagesPath : anthropic.countTokensPath
            head = anthropic.requestHead(
                path: path, query: query, clientHeaders: clientHead.headers, bodyLength: body.readableBytes)
        case .openAI(let openAI, _):
            head = openAI.requestHead(bodyLength: body.readableBytes, stream: isStream)
        }
        let generation = attemptGeneration
        pool.lease(upstream.origin, connectTimeout: route.timeouts.connect, fresh: fresh) { result in
            guard self.phase == .waitingForUpstream, generation == self.attemptGeneration else {
                if case .success(let connection) = result { connection.release() }
                return
            }
            switch result {
            case .success(let connection):
                self.upstream = connection
                connection.send(head: head, body: body, delegate: self)
            case .failure(let error):
                self.connectionFailed(error)
            }
        }
    }

    // MARK: - Upstream answer

    func upstreamHead(_ head: HTTPResponseHead) {
        guard phase == .waitingForUpstream else { return }
        lastUpstreamActivity = .now()
        headAt = lastUpstreamActivity
        upstreamHead = head
        if head.status == .ok && kind == .messages && isStream {
            phase = .openingStream
            pending = connection.allocator.buffer(capacity: 0)
        } else {
            phase = .bufferingBody
            let expected = head.headers.first(name: "content-length").flatMap(Int.init) ?? 4096
            answer = connection.allocator.buffer(capacity: min(expected, Self.maxAnswerBytes))
        }
    }

    func upstreamBody(_ buffer: ByteBuffer) {
        lastUpstreamActivity = .now()
        switch phase {
        case .openingStream, .relayingStream:
            if streamTranslator != nil {
                return relayTranslated(buffer)
            }
            do {
                try parser.feed(buffer) { event in self.observe(event) }
            } catch {
                // An event larger than the parser's bound: the upstream is not speaking SSE we can bill from.
                return attemptFailed(outcome: "invalid_stream", error: .upstream("The upstream provider '\(route?.providerID ?? "")' sent an invalid event stream."))
            }
            if phase == .openingStream {
                pending?.writeImmutableBuffer(buffer)
                return checkOpening()
            }
            connection.writeBody(buffer)
            lastClientWrite = lastUpstreamActivity
            if sawUpstreamErrorEvent {
                // The upstream's `error` event is relayed and ends the stream (as Anthropic's own streams end
                // after one): the client stops reading there, so the attempt's verdict is settled now.
                upstream?.close()
                upstream = nil
                endAttempt(outcome: "stream_error", verdict: .failure)
                return finishAndEnd(status: 200, errorType: "upstream_stream_error")
            }
            pauseReadingIfClientIsSlow()
        case .bufferingBody:
            guard var answer else { return }
            let limit = upstreamHead?.status == .ok ? Self.maxAnswerBytes : Self.maxErrorBytes
            if answer.readableBytes + buffer.readableBytes <= limit {
                self.answer = nil  // keep the buffer uniquely referenced while appending
                var chunk = buffer
                answer.writeBuffer(&chunk)
                self.answer = answer
            } else if upstreamHead?.status == .ok {
                return attemptFailed(outcome: "invalid_answer", error: .upstream("The upstream's answer is larger than the gateway accepts."))
            }
        case .starting, .waitingForUpstream, .finished:
            break
        }
    }

    /// After events were read while the stream is held back: fail over, open it, or keep waiting.
    private func checkOpening() {
        if let failure = openingFailure {
            openingFailure = nil
            guard failure.retryable else {
                endAttempt(outcome: failure.outcome, verdict: .success(latency: nil, throughput: nil))
                return committed
                    ? failAfterCommit(failure.error, errorType: failure.error.type.rawValue)
                    : reject(failure.error)
            }
            return attemptFailed(outcome: failure.outcome, error: failure.error)
        }
        if streamOpened {
            return openStream()
        }
        if (pending?.readableBytes ?? 0) > Self.maxOpeningBytes {
            attemptFailed(outcome: "invalid_stream", error: .upstream("The upstream provider '\(route?.providerID ?? "")' sent no content event in its first megabyte."))
        }
    }

    /// The first content event arrived: commit the response (if keep-alives have not) and send what was held.
    private func openStream() {
        phase = .relayingStream
        relayedContent = true
        firstEventAt = .now()
        if !committed { commitStream(namingEndpoint: true) }
        if let held = pending, held.readableBytes > 0 {
            connection.writeBody(held)
        }
        pending = nil
        lastClientWrite = .now()
        pauseReadingIfClientIsSlow()
    }

    func upstreamReadComplete() {
        if phase == .relayingStream { connection.flush() }
    }

    func upstreamEnd() {
        switch phase {
        case .openingStream where streamTranslator != nil:
            releaseUpstream()
            if let tail = streamTranslator?.finish() { emitTranslated(tail) }
            if phase == .relayingStream {
                return completeTranslatedStream()
            }
            attemptFailed(outcome: "stream_cut", error: .upstream("The upstream provider '\(route?.providerID ?? "")' ended its stream before sending any content."))
        case .openingStream:
            releaseUpstream()
            attemptFailed(outcome: "stream_cut", error: .upstream("The upstream provider '\(route?.providerID ?? "")' ended its stream before sending any content."))
        case .relayingStream where streamTranslator != nil:
            releaseUpstream()
            if let tail = streamTranslator?.finish() { writeTranslated(tail) }
            completeTranslatedStream()
        case .relayingStream:
            releaseUpstream()
            if sawUpstreamErrorEvent {
                endAttempt(outcome: "stream_error", verdict: .failure)
                return finishAndEnd(status: 200, errorType: "upstream_stream_error")
            }
            if !usage.sawMessageStop || parser.hasPartialEvent {
                return attemptFailed(outcome: "stream_cut", error: .upstream("The upstream ended the stream before it was complete."))
            }
            endAttempt(outcome: "ok", verdict: streamSuccess(outputTokens: usage.usage.outputTokens))
            finishAndEnd(status: 200, errorType: nil)
        case .bufferingBody:
            releaseUpstream()
            answerBuffered()
        case .starting, .waitingForUpstream, .finished:
            releaseUpstream()
        }
    }

    private func completeTranslatedStream() {
        let failed = streamTranslator?.failed == true
        if failed {
            endAttempt(outcome: "stream_cut", verdict: .failure)
        } else {
            endAttempt(outcome: "ok", verdict: streamSuccess(outputTokens: streamTranslator?.usage.outputTokens ?? 0))
        }
        finishAndEnd(status: 200, errorType: failed ? "upstream_cut" : nil)
    }

    /// A finished stream's figures: time to its first event, and output tokens per second after it.
    private func streamSuccess(outputTokens: Int) -> Verdict {
        let now = NIODeadline.now()
        let latency = (firstEventAt ?? headAt).map { Double(($0 - attemptStartedAt).nanoseconds) / 1e9 }
        var throughput: Double?
        if let firstEventAt, outputTokens > 0 {
            let seconds = Double((now - firstEventAt).nanoseconds) / 1e9
            if seconds >= 0.05 { throughput = Double(outputTokens) / seconds }
        }
        return .success(latency: latency, throughput: throughput)
    }

    func upstreamFailed(_ error: UpstreamConnectionError) {
        let wasReused = upstream?.isReused ?? false
        upstream = nil
        switch phase {
        case .waitingForUpstream where error.beforeResponseHead && wasReused && !resentOnFreshConnection:
            // A kept-alive connection the upstream had closed: send once more on a new one.
            resentOnFreshConnection = true
            send(fresh: true)
        case .waitingForUpstream, .bufferingBody, .openingStream:
            connectionFailed(error)
        case .relayingStream:
            attemptFailed(outcome: "stream_cut", error: .upstream("The connection to the upstream provider was lost mid-stream."))
        case .starting, .finished:
            break
        }
    }

    private func connectionFailed(_ error: UpstreamConnectionError) {
        let provider = route?.providerID ?? ""
        switch error.kind {
        case .connectTimeout:
            attemptFailed(outcome: "timeout_connect", error: .timeout("The upstream provider '\(provider)' could not be reached within the connect time limit."))
        case .connect:
            attemptFailed(outcome: "connect_failed", error: .upstream("The upstream provider '\(provider)' could not be reached: \(error)."))
        case .closedEarly, .io:
            attemptFailed(outcome: "connection_lost", error: .upstream("The upstream provider '\(provider)' closed the connection before answering: \(error)."))
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
        let provider = route?.providerID ?? ""
        if status == 200 {
            if kind == .messages, case .openAI? = route?.upstream {
                do {
                    let bytes = answer.readBytes(length: answer.readableBytes) ?? []
                    let translated = try OpenAIResponseTranslator.translate(
                        bytes, requestedModel: requestedModel, stopSequences: stopSequences)
                    jsonUsage = translated.usage
                    answer = connection.allocator.buffer(capacity: translated.message.count)
                    answer.writeBytes(translated.message)
                } catch {
                    return attemptFailed(outcome: "invalid_answer", error: error.apiError)
                }
            } else if kind == .messages {
                guard let parsed = answer.withUnsafeReadableBytes({ AnthropicResponse.usage(fromMessageJSON: $0) }) else {
                    return attemptFailed(outcome: "invalid_answer", error: .upstream("The upstream provider '\(provider)' answered with an invalid message."))
                }
                jsonUsage = parsed.usage
            } else if answer.readableBytes == 0 || answer.getInteger(at: answer.readerIndex, as: UInt8.self) != UInt8(ascii: "{") {
                return attemptFailed(outcome: "invalid_answer", error: .upstream("The upstream provider '\(provider)' answered with an invalid token count."))
            }
            let latency = headAt.map { Double(($0 - attemptStartedAt).nanoseconds) / 1e9 }
            endAttempt(outcome: "ok", verdict: .success(latency: latency, throughput: nil))
            var fields = baseFields()
            fields.add("content-type", "application/json")
            fields.addContentLength(answer.readableBytes)
            connection.writeHead(status: .ok, fields: fields)
            connection.writeBody(answer.readSlice(length: answer.readableBytes)!)
            runtime.metrics.countRequest(route: routeLabel, status: 200)
            finishAndEnd(status: 200, errorType: nil)
            return
        }
        let body = answer.readBytes(length: answer.readableBytes) ?? []
        let error = UpstreamErrorMapping.clientError(status: status, body: body, providerID: provider)
        if status == 401 || status == 403 {
            runtime.logger.error(
                "upstream rejected the provider key",
                metadata: ["provider": "\(provider)", "status": "\(status)", "request.id": "\(requestID)"])
        }
        var extra = HTTPHeaders()
        if status == 429 {
            for name in ["retry-after", "retry-after-ms"] {
                if let value = head.headers.first(name: name) { extra.add(name: name, value: value) }
            }
        }
        if UpstreamErrorMapping.isRetryable(status: status) {
            return attemptFailed(outcome: "http_\(status)", error: error, headers: extra)
        }
        // The upstream is up and says the request itself is wrong: no other endpoint would answer differently.
        endAttempt(outcome: "http_\(status)", verdict: .success(latency: nil, throughput: nil))
        if committed {
            failAfterCommit(error, errorType: error.type.rawValue)
        } else {
            reject(error, extraHeaders: extra)
        }
    }

    // MARK: - Streaming

    /// The fields every answer of an exchange carries: its request id, the key's rate limits, and the endpoint
    /// that served it.
    private func baseFields(requestID withID: Bool = true, namingEndpoint: Bool = true) -> ResponseFields {
        var fields = ResponseFields()
        if withID { fields.add("request-id", requestID) }
        if let figures = rateLimitFigures() { fields.addRateLimits(figures) }
        if namingEndpoint, let route {
            fields.add("x-switchyard-provider", route.providerID)
            fields.add("x-switchyard-model", route.modelID)
        }
        return fields
    }

    /// A limited key's figures: as admitted, or (for answers decided before admission) as they stand.
    private func rateLimitFigures() -> RateLimiter.Decision? {
        if let rateLimits { return rateLimits }
        guard let key, key.rpm != nil || key.tpm != nil else { return nil }
        return runtime.rateLimiter.status(keyID: key.id, rpm: key.rpm, tpm: key.tpm)
    }

    /// Writes the 200 event-stream head. Committed by keep-alive comments before any endpoint answered, it names
    /// no endpoint (which one serves is not known yet; the usage record says).
    private func commitStream(namingEndpoint: Bool) {
        var fields = baseFields(namingEndpoint: namingEndpoint)
        fields.add("content-type", "text/event-stream; charset=utf-8")
        fields.add("cache-control", "no-cache")
        connection.writeHead(status: .ok, fields: fields)
        committed = true
        runtime.metrics.countRequest(route: routeLabel, status: 200)
    }

    /// Reads one pass-through event: usage, first token, and while opening, whether the stream is good.
    /// Runs inside the parser's callback, so it only records; the caller acts afterwards.
    private func observe(_ event: ServerSentEvent) {
        guard let name = event.event else { return }
        if phase == .openingStream, !streamOpened, openingFailure == nil {
            switch name {
            case "message_start", "ping":
                break
            case "error":
                openingFailure = event.data.withUnsafeReadableBytes { self.streamErrorBeforeContent($0) }
                return
            default:
                if usage.sawMessageStart {
                    streamOpened = true
                } else {
                    openingFailure = ("invalid_stream", .upstream("The upstream provider '\(route?.providerID ?? "")' sent '\(name)' before 'message_start'."), true)
                    return
                }
            }
        }
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

    /// An Anthropic `error` event that arrived before any content: retried elsewhere unless it blames the request.
    private func streamErrorBeforeContent(_ data: UnsafeRawBufferPointer) -> (outcome: String, error: APIError, retryable: Bool) {
        let provider = route?.providerID ?? ""
        let (type, message) = AnthropicResponse.upstreamError(fromJSON: data) ?? ("api_error", "")
        switch type {
        case "invalid_request_error":
            return ("stream_error", .invalidRequest(message.isEmpty ? "The upstream provider rejected the request." : message), false)
        case "rate_limit_error":
            return ("stream_error", .rateLimited("The upstream provider '\(provider)' is rate limiting requests: \(message)"), true)
        default:
            return ("stream_error", .upstream("The upstream provider '\(provider)' failed (\(type))\(message.isEmpty ? "" : ": \(message)")"), true)
        }
    }

    /// Relays an OpenAI-compatible upstream's chunks as Anthropic events.
    private func relayTranslated(_ buffer: ByteBuffer) {
        let provider = route?.providerID ?? ""
        do {
            try parser.feed(buffer) { event in
                let output = try event.data.withUnsafeReadableBytes { try self.streamTranslator!.feed(data: $0) }
                self.emitTranslated(output)
            }
        } catch let error as TranslationError {
            return attemptFailed(outcome: "invalid_stream", error: .upstream("The upstream provider '\(provider)': \(error.message)"))
        } catch {
            return attemptFailed(outcome: "invalid_stream", error: .upstream("The upstream provider '\(provider)' sent an invalid event stream."))
        }
        if phase == .openingStream {
            return checkOpening()
        }
        pauseReadingIfClientIsSlow()
    }

    /// Translated events: held while the stream is opening (opened by the first content event), else written.
    private func emitTranslated(_ output: [UInt8]) {
        guard !output.isEmpty else { return }
        guard phase == .openingStream else { return writeTranslated(output) }
        pending?.writeBytes(output)
        if output.containsAnthropicContentEvent { streamOpened = true }
        if streamOpened, firstTokenAt == nil, output.containsContentDelta { firstTokenAt = .now() }
    }

    private func writeTranslated(_ output: [UInt8]) {
        guard !output.isEmpty else { return }
        if firstTokenAt == nil, output.containsContentDelta { firstTokenAt = .now() }
        var buffer = connection.allocator.buffer(capacity: output.count)
        buffer.writeBytes(output)
        connection.writeBody(buffer)
        lastClientWrite = lastUpstreamActivity
    }

    private func pauseReadingIfClientIsSlow() {
        if !connection.isWritable, !readingPaused {
            readingPaused = true
            upstream?.setReading(false)
        }
    }

    /// Answers from the gateway itself (a 200 JSON body), without any upstream.
    private func answerLocally(json: String) {
        var fields = baseFields()
        fields.add("content-type", "application/json")
        fields.addContentLength(json.utf8.count)
        connection.writeHead(status: .ok, fields: fields)
        var buffer = connection.allocator.buffer(capacity: json.utf8.count)
        buffer.writeString(json)
        connection.writeBody(buffer)
        runtime.metrics.countRequest(route: routeLabel, status: 200)
        finishAndEnd(status: 200, errorType: nil)
    }

    func clientWritabilityChanged(_ writable: Bool) {
        if writable, readingPaused {
            readingPaused = false
            upstream?.setReading(true)
        }
    }

    // MARK: - Time

    /// Checks the time limits (called by the loop's ``ExchangeTicker``).
    func tick() {
        guard phase != .finished else { return }
        let now = NIODeadline.now()
        guard let route else { return }
        let timeouts = route.timeouts
        if now - startedAt > timeouts.total {
            return totalTimeLimitReached()
        }
        let provider = route.providerID
        switch phase {
        case .waitingForUpstream:
            if now - attemptStartedAt > timeouts.firstByte {
                return attemptFailed(outcome: "timeout_first_byte", error: .timeout("The upstream provider '\(provider)' sent no answer within the first-byte time limit."))
            }
            sendKeepAliveIfDue(now)
        case .openingStream:
            if now - lastUpstreamActivity > timeouts.idle {
                return attemptFailed(outcome: "timeout_idle", error: .timeout("The upstream provider '\(provider)' went silent for longer than the idle time limit."))
            }
            sendKeepAliveIfDue(now)
        case .relayingStream, .bufferingBody:
            if now - lastUpstreamActivity > timeouts.idle {
                return attemptFailed(outcome: "timeout_idle", error: .timeout("The upstream provider '\(provider)' went silent for longer than the idle time limit."))
            }
        case .starting, .finished:
            break
        }
    }

    /// Keeps a waiting stream's connection alive with SSE comments, which no client mistakes for progress.
    private func sendKeepAliveIfDue(_ now: NIODeadline) {
        guard kind == .messages, isStream, now - lastClientWrite >= runtime.streamKeepAliveInterval else { return }
        if !committed { commitStream(namingEndpoint: false) }
        var comment = connection.allocator.buffer(capacity: 16)
        comment.writeServerSentEventComment("keepalive")
        connection.writeBody(comment)
        connection.flush()
        lastClientWrite = now
    }

    /// The request's whole time is used up: no further attempt, a 408 (or an `error` event).
    private func totalTimeLimitReached() {
        upstream?.close()
        upstream = nil
        endAttempt(outcome: "timeout_total", verdict: .abandoned)
        let error = APIError.timeout("The request exceeded the gateway's total time limit.")
        if committed {
            failAfterCommit(error, errorType: "timeout_error")
        } else {
            reject(error)
        }
    }

    // MARK: - Endings

    /// Answers with an error status (nothing was sent yet).
    private func reject(_ error: APIError, extraHeaders: HTTPHeaders = [:]) {
        guard phase != .finished else { return }
        var fields = ResponseFields()
        fields.add(contentsOf: extraHeaders)
        fields.append(baseFields(requestID: false))
        // Recorded before the answer goes out: whoever reads the answer can already find its usage record.
        finish(status: error.status, errorType: error.type.rawValue)
        if connection.isActive {
            connection.writeError(error, requestID: requestID, route: routeLabel, extraFields: fields)
        }
    }

    /// Ends a committed stream with an SSE `error` event.
    private func failAfterCommit(_ error: APIError, errorType: String) {
        guard phase != .finished else { return }
        upstream?.close()
        upstream = nil
        var buffer = connection.allocator.buffer(capacity: 256)
        buffer.writeBytes(error.sseEvent(requestID: requestID))
        connection.writeBody(buffer)
        finishAndEnd(status: 200, errorType: errorType == "stream_cut" ? "upstream_cut" : errorType)
    }

    /// The client went away: cancel the upstream request at once and bill what was produced.
    func clientDisconnected() {
        guard phase != .finished else { return }
        upstream?.close()
        upstream = nil
        endAttempt(outcome: "client_disconnected", verdict: .abandoned)
        finish(status: 499, errorType: "client_disconnected")
    }

    /// Records the usage, then ends the response: whoever reads the end can already find the record.
    private func finishAndEnd(status: Int, errorType: String?) {
        finish(status: status, errorType: errorType)
        connection.writeEnd()
    }

    private func finishWithoutAnswer() {
        finish(status: 499, errorType: "client_disconnected")
    }

    /// Stops timers, frees the connection and records the usage — exactly once.
    private func finish(status: Int, errorType: String?) {
        guard phase != .finished else { return }
        phase = .finished
        ticker.leave(self)
        if let upstream {
            self.upstream = nil
            upstream.close()
        }
        endAttempt(outcome: errorType ?? "ok", verdict: .abandoned)
        connection.exchangeFinished(self)
        record(status: status, errorType: errorType)
    }

    private func record(status: Int, errorType: String?) {
        guard !recorded, kind == .messages, let key else { return }
        recorded = true
        var tokens: TokenUsage
        if let jsonUsage {
            tokens = TokenUsage(jsonUsage)
        } else if !relayedContent {
            // No answer reached the client: attempts that failed before their content are not billed.
            tokens = .zero
        } else if let streamTranslator {
            tokens = TokenUsage(streamTranslator.usage)
            if !streamTranslator.usageReported, tokens.input == 0, let messagesRequest {
                // Chat Completions reports usage only at the end: a stream that broke before it still had its
                // prompt read upstream. Bill the gateway's own estimate of it (the one count_tokens gives).
                tokens.input = TokenEstimator.estimate(messagesRequest)
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
            attempts: attempts,
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
    var containsContentDelta: Bool { contains(bytes: Self.contentDelta) }

    /// Whether these Anthropic SSE bytes carry an event past `message_start`: a content block, `message_delta` or
    /// `message_stop` (a stream's first content).
    var containsAnthropicContentEvent: Bool {
        contains(bytes: Self.contentBlockEvent) || contains(bytes: Self.messageDeltaEvent)
            || contains(bytes: Self.messageStopEvent)
    }

    private static let contentDelta = Array("content_block_delta".utf8)
    private static let contentBlockEvent = Array("event: content_block".utf8)
    private static let messageDeltaEvent = Array("event: message_delta".utf8)
    private static let messageStopEvent = Array("event: message_stop".utf8)

    private func contains(bytes needle: [UInt8]) -> Bool {
        guard count >= needle.count else { return false }
        return withUnsafeBufferPointer { bytes in
            for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
                if bytes[start..<start + needle.count].elementsEqual(needle) { return true }
            }
            return false
        }
    }
}
