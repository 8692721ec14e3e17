import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import SwitchyardAccounts
import SwitchyardMessages
import SwitchyardConfig
import SwitchyardRouting
import SwitchyardProviders

/// Every route off the data path — models list, health, metrics, the root page — served by a Hummingbird router.
///
/// The client connection handler collects the request and calls ``respond(head:body:channel:completion:)``; the
/// router runs in a task, and the answer is written back on the connection's event loop. Clients see one port.
public struct ColdRoutes: Sendable {
    private let responder: RouterResponder<BasicRequestContext>
    private let logger: Logger

    /// - Parameters:
    ///   - readiness: throws when the gateway cannot serve (storage unreachable).
    ///   - metricsText: the Prometheus exposition text.
    public init(
        runtime: GatewayRuntime,
        readiness: @escaping @Sendable () async throws -> Void,
        metricsText: @escaping @Sendable () -> [UInt8]
    ) {
        responder = Self.makeRouter(runtime: runtime, readiness: readiness, metricsText: metricsText).buildResponder()
        logger = runtime.logger
    }

    /// The router itself (also what the Hummingbird tests drive).
    public static func makeRouter(
        runtime: GatewayRuntime,
        readiness: @escaping @Sendable () async throws -> Void,
        metricsText: @escaping @Sendable () -> [UInt8]
    ) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.addMiddleware { AnthropicErrorMiddleware() }
        router.get("/") { _, _ in
            "Switchyard: an Anthropic Messages API gateway. POST /v1/messages with your key.\n"
        }
        router.get("/health/live") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.get("/health/ready") { _, _ in
            do {
                try await readiness()
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ready"}"#)))
            } catch {
                return Response(status: .serviceUnavailable, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"unavailable","reason":"storage"}"#)))
            }
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metricsText() + EndpointHealthMetrics.text(runtime: runtime))))
        }
        let models = ModelsRoute(runtime: runtime)
        router.get("/v1/models") { request, _ in try await models.list(request) }
        router.get("/v1/models/{id}") { request, context in
            try await models.show(request, id: context.parameters.require("id"))
        }
        return router
    }

    /// Runs the router for one collected request; `completion` runs on `channel`'s event loop.
    func respond(
        head: HTTPRequestHead,
        body: ByteBuffer,
        channel: any Channel,
        completion: @escaping (HTTPResponseStatus, HTTPHeaders, ByteBuffer) -> Void
    ) {
        let loop = channel.eventLoop
        let boundCompletion = NIOLoopBound(completion, eventLoop: loop)
        let responder = self.responder
        let logger = self.logger
        let request = Request(head: Self.httpRequest(head), body: RequestBody(buffer: body))
        loop.makeFutureWithTask {
            let context = BasicRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
            let response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                response = AnthropicHTTPError(APIError(status: 500, type: .api, message: "Internal error.")).makeResponse()
            }
            let collector = BodyCollector()
            try await response.body.write(CollectingBodyWriter(collector: collector))
            var headers = HTTPHeaders()
            for field in response.headers { headers.add(name: field.name.canonicalName, value: field.value) }
            if !headers.contains(name: "request-id") { headers.add(name: "request-id", value: RequestID.make()) }
            let bytes = collector.buffer
            headers.replaceOrAdd(name: "content-length", value: String(bytes.readableBytes))
            return CollectedResponse(status: HTTPResponseStatus(statusCode: response.status.code), headers: headers, body: bytes)
        }.whenComplete { result in
            let completion = boundCompletion.value
            switch result {
            case .success(let answer):
                completion(answer.status, answer.headers, answer.body)
            case .failure:
                var headers = HTTPHeaders()
                headers.add(name: "content-length", value: "0")
                completion(.internalServerError, headers, ByteBuffer())
            }
        }
    }

    private static func httpRequest(_ head: HTTPRequestHead) -> HTTPRequest {
        var fields = HTTPFields()
        for (name, value) in head.headers {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return HTTPRequest(
            method: HTTPRequest.Method(head.method.rawValue) ?? .get,
            scheme: "http",
            authority: head.headers.first(name: "host"),
            path: head.uri,
            headerFields: fields)
    }
}

private struct CollectedResponse: Sendable {
    let status: HTTPResponseStatus
    let headers: HTTPHeaders
    let body: ByteBuffer
}

private final class BodyCollector: @unchecked Sendable {
    // Written by one task only, then read after it finished.
    var buffer = ByteBuffer()
}

private struct CollectingBodyWriter: ResponseBodyWriter {
    let collector: BodyCollector

    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        collector.buffer.writeBuffer(&buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// An ``APIError`` as a Hummingbird error: rendered in Anthropic's envelope.
struct AnthropicHTTPError: HTTPResponseError {
    let error: APIError
    let requestID: String

    init(_ error: APIError, requestID: String = RequestID.make()) {
        self.error = error
        self.requestID = requestID
    }

    var status: HTTPResponse.Status { .init(code: error.status) }

    func makeResponse() -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[HTTPField.Name("request-id")!] = requestID
        if error.shouldRetry == false { headers[HTTPField.Name("x-should-retry")!] = "false" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: error.jsonBody(requestID: requestID))))
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        makeResponse()
    }
}

/// Turns Hummingbird's own errors (404 for an unknown route, 405, decoding errors) into Anthropic-shaped ones.
struct AnthropicErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as AnthropicHTTPError {
            throw error
        } catch let error as HTTPError {
            let code = Int(error.status.code)
            let apiError: APIError = switch code {
            case 404: .notFound("Not found: \(request.method.rawValue) \(request.uri.path)")
            case 400..<500: .invalidRequest(error.body ?? error.status.reasonPhrase)
            default: APIError(status: code, type: .api, message: error.body ?? error.status.reasonPhrase)
            }
            throw AnthropicHTTPError(apiError)
        }
    }
}

/// `GET /v1/models` in the Anthropic list shape (WIRE §4.8), authenticated like the data path.
struct ModelsRoute: Sendable {
    let runtime: GatewayRuntime

    private func authenticate(_ request: Request) async throws {
        var headers = HTTPHeaders()
        for field in request.headers { headers.add(name: field.name.canonicalName, value: field.value) }
        guard let secret = MessagesExchange.clientKey(in: headers), APIKeySecret.looksValid(secret) else {
            throw AnthropicHTTPError(.authentication("Missing or invalid API key."))
        }
        let hash = APIKeySecret.hash(secret)
        let snapshot: KeySnapshot?
        switch runtime.ledger.lookup(hash: hash) {
        case .found(let found): snapshot = found
        case .absent: snapshot = nil
        case .unknown: snapshot = try await runtime.ledger.load(hash: hash)
        }
        guard let snapshot, !snapshot.disabled else {
            throw AnthropicHTTPError(.authentication("Invalid API key."))
        }
    }

    private var entries: [(id: String, displayName: String, createdAt: String)] {
        runtime.catalog.models.map { ($0.id, $0.displayName ?? $0.id, "1970-01-01T00:00:00Z") }
    }

    func list(_ request: Request) async throws -> Response {
        try await authenticate(request)
        return json(ModelsList.jsonBody(entries))
    }

    func show(_ request: Request, id: String) async throws -> Response {
        try await authenticate(request)
        guard let model = runtime.catalog.model(named: id) else {
            throw AnthropicHTTPError(.notFound("model: unknown model '\(id)'"))
        }
        let text = #"{"type":"model","id":"# + JSONText.quoted(model.id) + #","display_name":"#
            + JSONText.quoted(model.displayName ?? model.id) + #","created_at":"1970-01-01T00:00:00Z"}"#
        return json(Array(text.utf8))
    }

    private func json(_ bytes: [UInt8]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
