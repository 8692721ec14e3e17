/// Errors thrown while reading a server-sent event stream.
///
/// A struct over a private code, so that cases can be added without breaking callers; compare with the static
/// members (`error == .eventTooLarge`).
public struct SSEError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable {
        case eventTooLarge
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// A single event (its data plus the line being read) grew beyond the parser's `maximumEventSize`.
    ///
    /// The stream cannot be resynchronised after this; abandon it.
    public static let eventTooLarge = SSEError(.eventTooLarge)

    public var description: String {
        switch self.code {
        case .eventTooLarge:
            return "server-sent event exceeds the maximum event size"
        }
    }
}
