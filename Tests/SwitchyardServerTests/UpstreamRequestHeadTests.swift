import NIOCore
import NIOHTTP1
import SwitchyardConfig
import SwitchyardProviders
import Testing

/// Upstream request heads, written as bytes, carry the gateway's credentials and the client's forwardable headers.
@Suite struct UpstreamRequestHeadTests {
    private func text(_ head: UpstreamRequestHead) -> String {
        var out = ByteBuffer()
        head.write(into: &out)
        #expect(out.readableBytes == head.count)
        return String(buffer: out)
    }

    @Test func anthropicHeadForwardsOnlyAnthropicAndClientIdentityHeaders() {
        let upstream = AnthropicUpstream(provider: ProviderConfig(
            id: "a", kind: .anthropic, baseURL: UpstreamURL(scheme: "http", host: "127.0.0.1", port: 9000, basePath: "/base"),
            apiKey: "sk-upstream"))
        let client: HTTPHeaders = [
            "Host": "gateway", "X-Api-Key": "sk-client", "authorization": "Bearer sk-client",
            "Anthropic-Version": "2023-06-01", "anthropic-beta": "tools-2024", "user-agent": "claude-cli/2", "cookie": "c=1",
        ]
        let head = upstream.requestHead(path: upstream.messagesPath, query: "beta=true", clientHeaders: client, bodyLength: 1234)
        #expect(text(head) == """
            POST /base/v1/messages?beta=true HTTP/1.1\r
            host: 127.0.0.1:9000\r
            content-type: application/json\r
            content-length: 1234\r
            x-api-key: sk-upstream\r
            accept-encoding: identity\r
            Anthropic-Version: 2023-06-01\r
            anthropic-beta: tools-2024\r
            user-agent: claude-cli/2\r
            \r

            """)
    }

    @Test func anthropicHeadAddsTheDefaultVersionWhenTheClientNamesNone() {
        let upstream = AnthropicUpstream(provider: ProviderConfig(
            id: "a", kind: .anthropic, baseURL: UpstreamURL(scheme: "https", host: "api.anthropic.com"), apiKey: "k"))
        let lines = text(upstream.requestHead(path: "/v1/messages", query: nil, clientHeaders: [:], bodyLength: 0))
            .split(separator: "\r\n")
        #expect(lines.first == "POST /v1/messages HTTP/1.1")
        #expect(lines.contains("host: api.anthropic.com"))
        #expect(lines.last == "anthropic-version: \(AnthropicUpstream.defaultVersion)")
    }
}
