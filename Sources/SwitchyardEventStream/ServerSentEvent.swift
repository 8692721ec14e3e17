import NIOCore

/// One dispatched server-sent event.
///
/// The parser hands out events whose ``data`` is, in the common case of a single `data:` line, a slice of the
/// chunk it was read from: no bytes are copied. Holding on to an event therefore keeps that chunk's storage alive;
/// copy the bytes out (or read ``dataString``) if an event must outlive the stream.
public struct ServerSentEvent: Sendable, Equatable {
    /// The event name from the `event:` field, or `nil` when the event has none (the WHATWG default type `message`).
    public var event: String?

    /// The `data:` lines of the event, joined with `\n` (no trailing newline). Empty when the event had a name but
    /// no data lines.
    public var data: ByteBuffer

    /// The last event ID in effect when the event was dispatched.
    ///
    /// As in the WHATWG rules, an `id:` field sets the ID for this and all following events until another `id:`
    /// field changes it; an empty `id:` clears it (`nil`).
    public var id: String?

    /// The reconnection time in milliseconds from a `retry:` field inside this event's block, if any.
    public var retry: Int?

    /// Creates an event.
    ///
    /// - Parameters:
    ///   - event: The event name, `nil` for an unnamed event.
    ///   - data: The event's data, lines joined with `\n`.
    ///   - id: The event ID in effect.
    ///   - retry: The reconnection time in milliseconds given in this event's block.
    public init(event: String? = nil, data: ByteBuffer = ByteBuffer(), id: String? = nil, retry: Int? = nil) {
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry
    }

    /// Creates an event whose data is the UTF-8 encoding of `data`.
    ///
    /// - Parameters:
    ///   - event: The event name, `nil` for an unnamed event.
    ///   - data: The event's data, lines joined with `\n`.
    ///   - id: The event ID in effect.
    ///   - retry: The reconnection time in milliseconds given in this event's block.
    public init(event: String? = nil, data: String, id: String? = nil, retry: Int? = nil) {
        self.init(event: event, data: ByteBuffer(string: data), id: id, retry: retry)
    }

    /// The data decoded as UTF-8 (invalid sequences become U+FFFD). Allocates a new string on every call.
    public var dataString: String {
        String(buffer: self.data)
    }
}
