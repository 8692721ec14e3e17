import SwitchyardMessages

/// An upstream answer that cannot be turned into a valid Anthropic answer: not JSON, not a chat completion, an
/// error object where a chunk was expected, tool arguments that are not a JSON object, a stream that breaks its
/// own rules.
///
/// Before anything was sent to the client it is a 502 `api_error` (``apiError``); once a stream has started it
/// becomes an SSE `error` event (`apiError.sseEvent(requestID:)`), never a silently truncated success.
public struct TranslationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A human sentence saying what was wrong with the upstream answer.
    public let message: String

    public init(message: String) {
        self.message = message
    }

    /// The same failure as a 502 `api_error`.
    public var apiError: APIError { .upstream(message) }

    public var description: String { message }
}
