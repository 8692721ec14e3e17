import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SwitchyardMessages

/// The `openai` moderation checker: asks a `/v1/moderations`-compatible endpoint about each checked part of the
/// input (one `input` array, one result per part). Off the data path's hot loop: only moderated models wait for it.
///
/// A failure of the endpoint (unreachable, an error status, an answer it cannot read) throws
/// ``ModerationUnavailable``: the gateway answers 502 and never lets the input through unchecked.
public struct RemoteModerator: Sendable {
    private let url: String
    private let apiKey: String?
    private let model: String?
    private let client: HTTPClient
    private let timeout: TimeAmount

    /// - Parameter url: the endpoint itself, e.g. `https://api.openai.com/v1/moderations`.
    public init(url: String, apiKey: String?, model: String?, client: HTTPClient = .shared, timeout: TimeAmount = .seconds(10)) {
        self.url = url
        self.apiKey = apiKey
        self.model = model
        self.client = client
        self.timeout = timeout
    }

    /// The first flagged part, or nil when the endpoint flags nothing.
    public func check(_ input: ModerationInput) async throws -> ModerationVerdict? {
        guard !input.parts.isEmpty else { return nil }
        var body: [UInt8] = []
        body.append(contentsOf: "{".utf8)
        if let model {
            body.append(contentsOf: #""model":"#.utf8)
            JSONText.appendQuoted(model, to: &body)
            body.append(contentsOf: ",".utf8)
        }
        body.append(contentsOf: #""input":["#.utf8)
        for (index, part) in input.parts.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(part.text, to: &body)
        }
        body.append(contentsOf: "]}".utf8)

        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        if let apiKey, !apiKey.isEmpty { request.headers.add(name: "authorization", value: "Bearer \(apiKey)") }
        request.body = .bytes(body)
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await client.execute(request, timeout: timeout)
            answer = try await response.body.collect(upTo: 4 << 20)
        } catch {
            throw ModerationUnavailable(reason: "the moderation endpoint could not be reached (\(error))")
        }
        guard response.status == .ok else {
            throw ModerationUnavailable(reason: "the moderation endpoint answered HTTP \(response.status.code)")
        }
        guard let parsed = try? JSONParser.parse(Array(buffer: answer)), let results = parsed["results"]?.arrayValue,
              results.count == input.parts.count else {
            throw ModerationUnavailable(reason: "the moderation endpoint's answer could not be read")
        }
        for (index, result) in results.enumerated() where result["flagged"]?.boolValue == true {
            let categories = result["categories"]?.objectValue?.members
                .filter { $0.value.boolValue == true }.map(\.key) ?? []
            let reason = categories.isEmpty ? "flagged" : "category " + categories.joined(separator: ", ")
            return ModerationVerdict(reason: reason, location: input.parts[index].location)
        }
        return nil
    }
}

/// The moderation checker could not give an answer.
public struct ModerationUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// The configured checker.
public enum ModerationChecker: Sendable {
    case keywords(KeywordModerator)
    case remote(RemoteModerator)
}
