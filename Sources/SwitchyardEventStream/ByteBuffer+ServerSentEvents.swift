import NIOCore

extension ByteBuffer {
    /// Writes one server-sent event: an optional `event:` line, one `data:` line per line of `data`, and the blank
    /// line that dispatches it.
    ///
    /// Line breaks inside `data` (LF, CRLF or CR) split it into several `data:` lines, which a reader joins back
    /// with `\n`; so CR and CRLF come back as LF, everything else round-trips exactly. Empty data is written as one
    /// empty `data:` line, so the event is still dispatched.
    ///
    /// - Parameters:
    ///   - event: The event name, or `nil` to omit the `event:` line. Must not contain a line break.
    ///   - data: The event's data.
    /// - Returns: The number of bytes written.
    @discardableResult
    public mutating func writeServerSentEvent(event: String? = nil, data: some Collection<UInt8>) -> Int {
        if let written = data.withContiguousStorageIfAvailable({ storage in
            self.writeServerSentEvent(event: event, dataBytes: UnsafeRawBufferPointer(storage))
        }) {
            return written
        }
        return Array(data).withUnsafeBytes { self.writeServerSentEvent(event: event, dataBytes: $0) }
    }

    /// Writes one server-sent event whose data is the UTF-8 encoding of `data`; see the `Collection<UInt8>`
    /// overload for the line rules.
    ///
    /// - Parameters:
    ///   - event: The event name, or `nil` to omit the `event:` line. Must not contain a line break.
    ///   - data: The event's data.
    /// - Returns: The number of bytes written.
    @discardableResult
    public mutating func writeServerSentEvent(event: String? = nil, data: String) -> Int {
        var data = data
        return data.withUTF8 { self.writeServerSentEvent(event: event, dataBytes: UnsafeRawBufferPointer($0)) }
    }

    /// Writes an SSE comment, `: text` followed by a blank line. Readers ignore it; it keeps idle connections
    /// open. A multi-line `text` becomes one comment line per line.
    ///
    /// - Parameter text: The comment text.
    /// - Returns: The number of bytes written.
    @discardableResult
    public mutating func writeServerSentEventComment(_ text: String) -> Int {
        var text = text
        return text.withUTF8 { utf8 in
            let bytes = UnsafeRawBufferPointer(utf8)
            self.reserveCapacity(minimumWritableBytes: bytes.count + 4)
            var written = 0
            Self.forEachLine(of: bytes) { line in
                written += self.writeStaticString(": ")
                written += self.writeBytes(line)
                written += self.writeInteger(UInt8(ascii: "\n"))
            }
            written += self.writeInteger(UInt8(ascii: "\n"))
            return written
        }
    }

    private mutating func writeServerSentEvent(event: String?, dataBytes: UnsafeRawBufferPointer) -> Int {
        assert(
            event.map { !$0.utf8.contains(UInt8(ascii: "\n")) && !$0.utf8.contains(UInt8(ascii: "\r")) } ?? true,
            "an SSE event name must not contain a line break"
        )
        self.reserveCapacity(minimumWritableBytes: dataBytes.count + (event?.utf8.count ?? 0) + 16)
        var written = 0
        if let event {
            written += self.writeStaticString("event: ")
            written += self.writeString(event)
            written += self.writeInteger(UInt8(ascii: "\n"))
        }
        Self.forEachLine(of: dataBytes) { line in
            written += self.writeStaticString("data: ")
            written += self.writeBytes(line)
            written += self.writeInteger(UInt8(ascii: "\n"))
        }
        written += self.writeInteger(UInt8(ascii: "\n"))
        return written
    }

    /// Calls `body` with each line of `bytes` split at LF, CRLF or CR; always at least once (for empty input, with
    /// an empty line).
    private static func forEachLine(of bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        let count = bytes.count
        var lineStart = 0
        var index = 0
        while index < count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                body(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<index]))
                index += 1
                if byte == UInt8(ascii: "\r"), index < count, bytes[index] == UInt8(ascii: "\n") {
                    index += 1
                }
                lineStart = index
            } else {
                index += 1
            }
        }
        body(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<count]))
    }
}
