import Foundation
import NIOCore
import Testing
@testable import SwitchyardServer

/// Every answer's head is written as bytes by the gateway (not NIO's encoder). On one keep-alive connection, each
/// answer must be framed by its own request: a body exactly as long as its content-length, none to HEAD.
@Suite struct AnswerHeadTests {
    /// One answer read off the wire: status line, lower-cased fields, body.
    struct Answer {
        var statusLine: String
        var fields: [String: String]
        var body: String
    }

    /// Splits `text` into answers; `bodiless` says which answers (by position) answer a HEAD request.
    static func answers(_ text: String, bodiless: Set<Int>) throws -> [Answer] {
        var rest = Substring(text)
        var answers: [Answer] = []
        while !rest.isEmpty {
            let headEnd = try #require(rest.range(of: "\r\n\r\n"))
            var lines = rest[..<headEnd.lowerBound].split(separator: "\r\n").map(String.init)
            let statusLine = lines.removeFirst()
            var fields: [String: String] = [:]
            for line in lines {
                let colon = try #require(line.firstIndex(of: ":"))
                fields[line[..<colon].lowercased()] = String(line[line.index(colon, offsetBy: 2)...])
            }
            rest = rest[headEnd.upperBound...]
            var body = ""
            if !bodiless.contains(answers.count) {
                let length = try #require(fields["content-length"].flatMap { Int($0) })
                let bytes = rest.utf8.prefix(length)
                try #require(bytes.count == length)
                body = String(Substring(bytes))
                rest = Substring(rest.utf8.dropFirst(length))
            }
            answers.append(Answer(statusLine: statusLine, fields: fields, body: body))
        }
        return answers
    }

    @Test func aHEADAnswerAfterAMessagesAnswerHasNoBodyAndTheGETAfterItHasItsOwn() async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let models = "host: 127.0.0.1\r\nx-api-key: \(gateway.secret)\r\nanthropic-version: 2023-06-01\r\n"
                let request = RawBytes.messagesRequest(key: gateway.secret, body: Requests.body(model: "test/text"))
                    + "HEAD /v1/models HTTP/1.1\r\n\(models)\r\n"
                    + "GET /v1/models HTTP/1.1\r\n\(models)connection: close\r\n\r\n"
                let text = try await RawBytes.exchange(port: gateway.port, sending: request)
                let answers = try Self.answers(text, bodiless: [1])
                try #require(answers.count == 3)
                #expect(answers[0].statusLine == "HTTP/1.1 200 OK")
                #expect(answers[0].body.hasPrefix("{"))
                #expect(answers[0].fields["request-id"]?.hasPrefix("req_") == true)
                // The router has no HEAD route: a 404 whose head announces a body that is not sent.
                #expect(answers[1].statusLine == "HTTP/1.1 404 Not Found")
                #expect(Int(answers[1].fields["content-length"] ?? "") ?? 0 > 0)
                #expect(answers[1].body.isEmpty)
                #expect(answers[2].statusLine == "HTTP/1.1 200 OK")
                #expect(answers[2].fields["connection"] == "close")
                let list = try JSONSerialization.jsonObject(with: Data(answers[2].body.utf8)) as? [String: Any]
                #expect(list?["data"] is [Any])
            }
        }
    }

    @Test func anHTTP10JSONAnswerHasALengthAndNoChunking() async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let request = RawBytes.messagesRequest(
                    key: gateway.secret, body: Requests.body(model: "test/text"), version: "HTTP/1.0")
                let text = try await RawBytes.exchange(port: gateway.port, sending: request)
                let answers = try Self.answers(text, bodiless: [])
                try #require(answers.count == 1)
                #expect(answers[0].statusLine == "HTTP/1.0 200 OK")
                #expect(answers[0].fields["transfer-encoding"] == nil)
                #expect(answers[0].fields["connection"] == "close")
                #expect(answers[0].body.hasSuffix("}"))
            }
        }
    }

    @Test func anErrorAnswerIsFramedAndTheConnectionGoesOn() async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let request = RawBytes.messagesRequest(key: "sk-sy-wrong", body: Requests.body(model: "test/text"))
                    + RawBytes.messagesRequest(key: gateway.secret, body: Requests.body(model: "test/text"),
                                               extraHeaders: "connection: close\r\n")
                let text = try await RawBytes.exchange(port: gateway.port, sending: request)
                let answers = try Self.answers(text, bodiless: [])
                try #require(answers.count == 2)
                #expect(answers[0].statusLine == "HTTP/1.1 401 Unauthorized")
                #expect(answers[0].fields["connection"] == nil)
                #expect(answers[0].body.contains("\"authentication_error\""))
                #expect(answers[1].statusLine == "HTTP/1.1 200 OK")
            }
        }
    }
}
