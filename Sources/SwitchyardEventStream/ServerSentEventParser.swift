import NIOCore

/// An incremental parser for `text/event-stream` bodies (the WHATWG "event stream interpretation" rules).
///
/// Feed it the body's chunks as they arrive; chunk boundaries carry no meaning. The parser calls back once per
/// dispatched event:
///
/// ```swift
/// var parser = ServerSentEventParser()
/// for try await chunk in body {
///     try parser.feed(chunk) { event in
///         if event.event == "message_delta" { usage.update(from: event.data) }
///     }
/// }
/// if parser.hasPartialEvent { /* the upstream stream was cut off mid-event */ }
/// ```
///
/// Rules implemented: lines end in CRLF, LF or CR (a CR ending one chunk and an LF starting the next are one line
/// end); `field: value` loses one optional space after the colon; a line starting with `:` is a comment; a line
/// without a colon is a field with an empty value; `data` lines are joined with `\n`; a blank line dispatches the
/// event unless it has neither data lines nor a name; unknown fields are ignored; one UTF-8 byte order mark at the
/// very start of the stream is skipped. Unlike a browser, an event that has a name but no data is dispatched (with
/// empty data), and an empty `event:` value means "no name".
///
/// This is on the hot path of every streamed response, so the parser does not allocate per byte or per line: a
/// line that lies wholly inside one chunk is read in place, and a single-line event's ``ServerSentEvent/data`` is a
/// slice of that chunk (no copy). Only a line split across chunks is buffered, and only data spread over several
/// `data:` lines is joined into a new buffer.
public struct ServerSentEventParser: Sendable {
    /// The default bound on a single event's size: 16 MiB.
    public static let defaultMaximumEventSize = 16 * 1024 * 1024

    /// The largest event, in bytes of its joined data plus the line being read, that the parser accepts before it
    /// throws ``SSEError/eventTooLarge``.
    public let maximumEventSize: Int

    /// The last event ID set by an `id:` field, carried over to every following event (WHATWG "last event ID").
    public private(set) var lastEventID: String?

    /// The reconnection time in milliseconds from the most recent valid `retry:` field, whether or not its event
    /// was dispatched.
    public private(set) var reconnectionTime: Int?

    /// Bytes of the current line that arrived in earlier chunks (empty while lines lie inside one chunk).
    private var pendingLine = ByteBuffer()
    /// The current event's name, `nil` until a non-empty `event:` field.
    private var eventName: String?
    /// The current event's data; a slice of the source chunk while there is a single data line.
    private var data: ByteBuffer?
    /// How many `data:` lines the current event has.
    private var dataLineCount = 0
    /// The `retry:` value given in the current event's block.
    private var eventRetry: Int?
    /// Whether a field line (anything but a comment or blank line) arrived since the last blank line.
    private var sawFieldSinceBlankLine = false
    /// The previous chunk ended in CR: an LF at the start of the next one belongs to that line end.
    private var skipLeadingLF = false
    /// Bytes of the byte order mark matched so far at the start of the stream; 3 once the start is behind us.
    private var byteOrderMarkProgress = 0
    /// Event names longer than a small string, interned so that a stream repeating them does not allocate.
    private var internedNames: [String] = []

    /// Creates a parser at the start of a stream.
    ///
    /// - Parameter maximumEventSize: The largest event accepted, in bytes (default 16 MiB). Bounds the memory a
    ///   misbehaving upstream can make the gateway buffer.
    public init(maximumEventSize: Int = ServerSentEventParser.defaultMaximumEventSize) {
        precondition(maximumEventSize > 0, "maximumEventSize must be positive")
        self.maximumEventSize = maximumEventSize
    }

    /// Whether the stream so far ends inside an event: an unterminated line, or field lines that no blank line has
    /// dispatched yet. Check it when the body ends; `true` means the stream was truncated (such trailing data is
    /// never dispatched as an event).
    public var hasPartialEvent: Bool {
        self.pendingLine.readableBytes > 0 || self.sawFieldSinceBlankLine
            || (self.byteOrderMarkProgress > 0 && self.byteOrderMarkProgress < 3)
    }

    /// Parses the next chunk of the stream, calling `onEvent` for every event it completes, in order.
    ///
    /// - Parameters:
    ///   - chunk: The next bytes of the body; any size, split anywhere.
    ///   - onEvent: Called synchronously for each dispatched event. The event's `data` may share storage with
    ///     `chunk`.
    /// - Throws: ``SSEError/eventTooLarge`` when an event exceeds ``maximumEventSize`` (the stream must then be
    ///   abandoned), or whatever `onEvent` throws (parsing stops at that event; the rest of the chunk is dropped).
    public mutating func feed(_ chunk: ByteBuffer, _ onEvent: (ServerSentEvent) throws -> Void) throws {
        var chunk = chunk
        if self.byteOrderMarkProgress < 3 {
            self.skipByteOrderMark(&chunk)
        }
        guard chunk.readableBytes > 0 else { return }
        let source = chunk
        try source.withUnsafeReadableBytes { bytes in
            try self.parse(bytes, of: source, onEvent)
        }
    }

    /// Parses the next chunk of the stream given as bytes; the same as the `ByteBuffer` overload (convenient in tests).
    ///
    /// - Parameters:
    ///   - bytes: The next bytes of the body.
    ///   - onEvent: Called synchronously for each dispatched event.
    /// - Throws: ``SSEError/eventTooLarge``, or whatever `onEvent` throws.
    public mutating func feed(_ bytes: [UInt8], _ onEvent: (ServerSentEvent) throws -> Void) throws {
        try self.feed(ByteBuffer(bytes: bytes), onEvent)
    }

    // MARK: - Lines

    private static let lf = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")
    private static let colon = UInt8(ascii: ":")
    private static let space = UInt8(ascii: " ")
    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Consumes the leading byte order mark, which may arrive split over several chunks.
    private mutating func skipByteOrderMark(_ chunk: inout ByteBuffer) {
        while self.byteOrderMarkProgress < 3, let byte = chunk.getInteger(at: chunk.readerIndex, as: UInt8.self) {
            if byte == Self.byteOrderMark[self.byteOrderMarkProgress] {
                self.byteOrderMarkProgress += 1
                chunk.moveReaderIndex(forwardBy: 1)
            } else {
                // Not a BOM after all: the bytes matched so far belong to the first line.
                if self.byteOrderMarkProgress > 0 {
                    self.pendingLine.writeBytes(Self.byteOrderMark[..<self.byteOrderMarkProgress])
                }
                self.byteOrderMarkProgress = 3
            }
        }
    }

    /// Splits `bytes` (the readable bytes of `source`) into lines and processes each complete one.
    private mutating func parse(
        _ bytes: UnsafeRawBufferPointer,
        of source: ByteBuffer,
        _ onEvent: (ServerSentEvent) throws -> Void
    ) throws {
        let count = bytes.count
        var index = 0
        if self.skipLeadingLF {
            self.skipLeadingLF = false
            if bytes[0] == Self.lf { index = 1 }
        }
        var lineStart = index
        while index < count {
            let byte = bytes[index]
            guard byte == Self.lf || byte == Self.cr else {
                index &+= 1
                continue
            }
            if self.pendingLine.readableBytes == 0 {
                try self.processLine(bytes, from: lineStart, to: index, of: source, onEvent)
            } else {
                try self.appendToPendingLine(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<index]))
                try self.processPendingLine(onEvent)
            }
            index &+= 1
            if byte == Self.cr {
                if index < count {
                    if bytes[index] == Self.lf { index &+= 1 }
                } else {
                    self.skipLeadingLF = true
                }
            }
            lineStart = index
        }
        if lineStart < count {
            try self.appendToPendingLine(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<count]))
        }
    }

    /// Buffers part of a line that continues in a later chunk, enforcing the size bound.
    private mutating func appendToPendingLine(_ bytes: UnsafeRawBufferPointer) throws {
        let buffered = self.pendingLine.readableBytes + bytes.count + (self.data?.readableBytes ?? 0)
        guard buffered <= self.maximumEventSize else {
            throw SSEError.eventTooLarge
        }
        self.pendingLine.writeBytes(bytes)
    }

    /// Processes the line assembled in `pendingLine`, then empties it.
    private mutating func processPendingLine(_ onEvent: (ServerSentEvent) throws -> Void) throws {
        let retainedByEvent: Bool
        do {
            let line = self.pendingLine
            retainedByEvent = try line.withUnsafeReadableBytes { bytes in
                try self.processLine(bytes, from: 0, to: bytes.count, of: line, onEvent)
            }
        }
        if retainedByEvent {
            // The current event's data is a slice of this storage: start a new buffer rather than clear() it,
            // which would allocate a copy of the old (possibly large) capacity.
            self.pendingLine = ByteBuffer()
        } else {
            self.pendingLine.clear()
        }
    }

    /// Interprets one line, `bytes[start..<end]` (offsets into `source`'s readable bytes).
    ///
    /// - Returns: Whether the current event now holds a slice of `source`.
    @discardableResult
    private mutating func processLine(
        _ bytes: UnsafeRawBufferPointer,
        from start: Int,
        to end: Int,
        of source: ByteBuffer,
        _ onEvent: (ServerSentEvent) throws -> Void
    ) throws -> Bool {
        if start == end {
            try self.dispatch(onEvent)
            return false
        }
        if bytes[start] == Self.colon {
            return false  // comment
        }
        self.sawFieldSinceBlankLine = true
        var nameEnd = start
        while nameEnd < end, bytes[nameEnd] != Self.colon {
            nameEnd &+= 1
        }
        var valueStart = nameEnd
        if valueStart < end {
            valueStart &+= 1
            if valueStart < end, bytes[valueStart] == Self.space { valueStart &+= 1 }
        }
        let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<end])

        switch nameEnd - start {
        case 4 where Self.matches(bytes, at: start, "data"):
            let slice = source.getSlice(at: source.readerIndex + valueStart, length: end - valueStart)!
            try self.appendData(slice)
            return self.dataLineCount == 1
        case 5 where Self.matches(bytes, at: start, "event"):
            self.eventName = value.isEmpty ? nil : self.internName(value)
        case 2 where Self.matches(bytes, at: start, "id"):
            if !value.contains(0) {
                self.lastEventID = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
            }
        case 5 where Self.matches(bytes, at: start, "retry"):
            if let milliseconds = Self.parseDigits(value) {
                self.eventRetry = milliseconds
                self.reconnectionTime = milliseconds
            }
        default:
            break  // unknown field: ignored
        }
        return false
    }

    private mutating func appendData(_ line: ByteBuffer) throws {
        guard let existing = self.data else {
            guard line.readableBytes <= self.maximumEventSize else { throw SSEError.eventTooLarge }
            self.data = line
            self.dataLineCount = 1
            return
        }
        let joinedSize = existing.readableBytes + 1 + line.readableBytes
        guard joinedSize <= self.maximumEventSize else { throw SSEError.eventTooLarge }
        if self.dataLineCount == 1 {
            // The first line is a slice of someone else's storage; join into a buffer of our own.
            var joined = ByteBufferAllocator().buffer(capacity: joinedSize)
            joined.writeImmutableBuffer(existing)
            self.data = joined
        }
        self.data!.writeInteger(Self.lf)
        self.data!.writeImmutableBuffer(line)
        self.dataLineCount += 1
    }

    private mutating func dispatch(_ onEvent: (ServerSentEvent) throws -> Void) throws {
        self.sawFieldSinceBlankLine = false
        guard self.dataLineCount > 0 || self.eventName != nil else {
            self.eventRetry = nil
            return
        }
        let event = ServerSentEvent(
            event: self.eventName,
            data: self.data ?? ByteBuffer(),
            id: self.lastEventID,
            retry: self.eventRetry
        )
        // Reset before the callback so the event holds the only reference to its data.
        self.eventName = nil
        self.data = nil
        self.dataLineCount = 0
        self.eventRetry = nil
        try onEvent(event)
    }

    // MARK: - Helpers

    /// Whether `bytes[offset...]` starts with `literal` (the caller has checked the length).
    private static func matches(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ literal: StaticString) -> Bool {
        let pointer = literal.utf8Start
        for index in 0..<literal.utf8CodeUnitCount where bytes[offset &+ index] != pointer[index] {
            return false
        }
        return true
    }

    /// Parses a `retry` value: ASCII digits only, otherwise the field is ignored.
    private static func parseDigits(_ value: UnsafeRawBufferPointer) -> Int? {
        guard !value.isEmpty else { return nil }
        var result = 0
        for byte in value {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = result.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte &- UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            result = sum
        }
        return result
    }

    /// Well-known event names too long to be small (inline) strings; shared, so they are never allocated.
    private static let knownLongNames: [String] = [
        "content_block_start", "content_block_delta", "content_block_stop",
    ]

    /// Returns the name as a `String`, reusing an earlier instance when the bytes match one.
    private mutating func internName(_ bytes: UnsafeRawBufferPointer) -> String {
        // Up to 15 UTF-8 bytes a String is stored inline and creating it does not allocate.
        guard bytes.count > 15 else {
            return String(decoding: bytes, as: UTF8.self)
        }
        for name in Self.knownLongNames where name.utf8.count == bytes.count && name.utf8.elementsEqual(bytes) {
            return name
        }
        for name in self.internedNames where name.utf8.count == bytes.count && name.utf8.elementsEqual(bytes) {
            return name
        }
        let name = String(decoding: bytes, as: UTF8.self)
        if self.internedNames.count < 32 {
            self.internedNames.append(name)
        }
        return name
    }
}
