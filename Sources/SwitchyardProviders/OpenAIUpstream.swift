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
    public func requestHead(bodyLength: Int, stream: Bool) -> UpstreamRequestHead {
        var head = UpstreamRequestHead(path: completionsPath)
        head.add("host", origin.hostHeader)
        head.add("content-type", "application/json")
        head.addContentLength(bodyLength)
        head.add("authorization", authorization)
        head.add("accept", stream ? "text/event-stream" : "application/json")
        head.add("accept-encoding", "identity")
        return head
    }
}
