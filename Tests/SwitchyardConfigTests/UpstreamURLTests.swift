import SwitchyardConfig
import Testing

/// Provider base URLs are parsed by hand into scheme, host, port and base path.
@Suite struct UpstreamURLTests {
    @Test(arguments: [
        ("https://api.anthropic.com", "https", "api.anthropic.com", 443, "", "https://api.anthropic.com"),
        ("https://api.anthropic.com/", "https", "api.anthropic.com", 443, "", "https://api.anthropic.com"),
        ("https://api.deepseek.com/v1", "https", "api.deepseek.com", 443, "/v1", "https://api.deepseek.com/v1"),
        ("https://api.deepseek.com/v1/", "https", "api.deepseek.com", 443, "/v1", "https://api.deepseek.com/v1"),
        ("http://localhost:8000/v1", "http", "localhost", 8000, "/v1", "http://localhost:8000/v1"),
        ("http://127.0.0.1", "http", "127.0.0.1", 80, "", "http://127.0.0.1"),
        ("HTTPS://Example.com:443/a/b//", "https", "Example.com", 443, "/a/b", "https://Example.com/a/b"),
        ("http://[::1]:9000/x", "http", "::1", 9000, "/x", "http://[::1]:9000/x"),
        ("https://[2001:db8::1]", "https", "2001:db8::1", 443, "", "https://[2001:db8::1]"),
        ("https://generativelanguage.googleapis.com/v1beta", "https", "generativelanguage.googleapis.com", 443, "/v1beta",
         "https://generativelanguage.googleapis.com/v1beta"),
    ])
    func validURLs(_ text: String, _ scheme: String, _ host: String, _ port: Int, _ basePath: String, _ string: String)
        throws
    {
        let url = try UpstreamURL(parsing: text)
        #expect(url.scheme == scheme)
        #expect(url.host == host)
        #expect(url.port == port)
        #expect(url.basePath == basePath)
        #expect(url.string == string)
        #expect(url.usesTLS == (scheme == "https"))
        #expect(try UpstreamURL(parsing: url.string) == url)  // the normalised form parses back to itself
    }

    @Test(arguments: [
        ("", "empty"),
        ("api.anthropic.com", "no scheme"),
        ("localhost:8080", "no scheme"),
        ("ftp://example.com", "unsupported scheme 'ftp'"),
        ("https://", "no host"),
        ("https:///v1", "no host"),
        ("https://example.com:", "bad port"),
        ("https://example.com:0", "bad port"),
        ("https://example.com:65536", "bad port"),
        ("https://example.com:80a", "bad port"),
        ("https://example.com/v1?key=x", "query"),
        ("https://example.com/#top", "fragment"),
        ("https://user:pass@example.com", "user info"),
        ("https://exa mple.com", "whitespace"),
        ("https://[::1", "unclosed"),
        ("https://ex%41mple.com", "invalid host"),
    ])
    func malformedURLsSayWhy(_ text: String, _ reason: String) {
        #expect {
            _ = try UpstreamURL(parsing: text)
        } throws: { error in
            guard let error = error as? UpstreamURL.ParseError else { return false }
            return error.reason.contains(reason)
        }
    }

    @Test func hostHeaderOmitsTheDefaultPort() throws {
        #expect(try UpstreamURL(parsing: "https://api.anthropic.com").hostHeader == "api.anthropic.com")
        #expect(try UpstreamURL(parsing: "https://api.anthropic.com:8443").hostHeader == "api.anthropic.com:8443")
        #expect(try UpstreamURL(parsing: "http://[::1]:80").hostHeader == "[::1]")
    }
}
