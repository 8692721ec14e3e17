import NIOCore
import NIOHTTP1
import SwitchyardConfig

/// A configured `kind: openai` provider (any OpenAI-compatible Chat Completions API), ready for the data path.
///
/// Only its own headers go upstream: the bearer key, content type and length. Nothing of the Anthropic client's
/// headers (`anthropic-beta`, Claude Code's identity headers) is sent to an OpenAI upstream.
public struct OpenAIUpstream: Sendable {
    public let providerID: String
    public let origin: UpstreamOrigin
    public let completionsPath: String
    private let authorization: String

    public init(provider: ProviderConfig) {
        providerID = provider.id
        origin = UpstreamOrigin(provider: provider)
        completionsPath = provider.baseURL.basePath + "/chat/completions"
        authorization = "Bearer \(provider.apiKey)"
    }

    /// The head of a Chat Completions request carrying `bodyLength` bytes.
    public func requestHead(bodyLength: Int, stream: Bool) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(6)
        headers.add(name: "host", value: origin.hostHeader)
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(bodyLength))
        headers.add(name: "authorization", value: authorization)
        headers.add(name: "accept", value: stream ? "text/event-stream" : "application/json")
        headers.add(name: "accept-encoding", value: "identity")
        return HTTPRequestHead(version: .http1_1, method: .POST, uri: completionsPath, headers: headers)
    }
}
