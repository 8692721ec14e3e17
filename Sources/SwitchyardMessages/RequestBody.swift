/// A member of a body's root object: where it sits in the bytes and what forwarding does with it.
struct TopLevelMember: Sendable, Equatable {
    enum Forwarding: Sendable, Equatable {
        /// Copied as received.
        case kept
        /// `model`: the value is replaced by the upstream model.
        case modelReplaced
        /// `models` or `provider`, this gateway's extensions: left out.
        case removed
    }

    let span: MemberSpan
    let forwarding: Forwarding
}

/// Parsing a request body: the syntax check, the root object, and the members that forwarding rewrites.
enum RequestBody {
    /// Checks the syntax of `bytes` in full without decoding anything, then hands the root object of the skim tree
    /// and the root's members to `read`. The tree only lives during `read`, and nothing of it may escape: its nodes
    /// and strings point into `bytes`; copy out (`decoded`, `jsonObject`) what must outlive the call.
    static func skim<Result>(
        _ bytes: [UInt8],
        _ read: (_ root: SkimObject, _ members: [TopLevelMember]) throws(InvalidRequest) -> Result
    ) throws(InvalidRequest) -> Result {
        try bytes.withUnsafeBufferPointer { (buffer) throws(InvalidRequest) -> Result in
            let body = UnsafeRawBufferPointer(buffer)
            // About one node per 64 bytes in Claude Code bodies; the array grows if needed.
            var parser = ByteJSONParser(
                body, builder: SkimTreeBuilder(capacity: bytes.count / 64 + 16), recordTopLevelMembers: true)
            do throws(JSONSyntaxError) {
                try parser.parseDocument()
            } catch {
                throw .notJSON(error)
            }
            let spans = parser.topLevelSpans
            return try parser.builder.nodes.withUnsafeBufferPointer { (nodes) throws(InvalidRequest) -> Result in
                guard nodes.first?.kind == .object else { throw .notAnObject }
                let root = SkimObject(tree: SkimTree(body: body, nodes: nodes), index: 0)
                return try read(root, members(spans: spans, root: root))
            }
        }
    }

    /// Parses `bytes` into the full tree; also returns the root's members.
    static func parse(_ bytes: [UInt8]) throws(InvalidRequest) -> (root: JSONObject, members: [TopLevelMember]) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(InvalidRequest) in
            let parsed: (value: JSONValue, spans: [MemberSpan])
            do throws(JSONSyntaxError) {
                parsed = try JSONParser.parseRecordingTopLevel(UnsafeRawBufferPointer(buffer))
            } catch {
                throw .notJSON(error)
            }
            guard case .object(let root) = parsed.value else { throw .notAnObject }
            return (root, members(spans: parsed.spans, root: root))
        }
    }

    /// Pairs the root's member spans (in document order) with what forwarding does with each member.
    private static func members(spans: [MemberSpan], root: some JSONTreeObject) -> [TopLevelMember] {
        zip(spans, root.keys).map { span, key in
            let forwarding: TopLevelMember.Forwarding
            if key.equals("models") || key.equals("provider") {
                forwarding = .removed
            } else if key.equals("model") {
                forwarding = .modelReplaced
            } else {
                forwarding = .kept
            }
            return TopLevelMember(span: span, forwarding: forwarding)
        }
    }

    /// The original bytes with every top-level `model` value replaced by `upstreamModel` and every top-level
    /// `models` and `provider` member removed together with one separating comma. All other bytes are kept.
    static func forwarded(_ bytes: [UInt8], members: [TopLevelMember], model upstreamModel: String) -> [UInt8] {
        guard !members.isEmpty else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + upstreamModel.utf8.count + 2)
        forEachForwardedPiece(bytes, members: members, model: upstreamModel) { out.append(contentsOf: $0) }
        return out
    }

    /// Hands ``forwarded(_:members:model:)``'s bytes to `write` in order, in pieces (runs of the original bytes and
    /// the quoted model), without assembling them.
    static func forEachForwardedPiece(
        _ bytes: [UInt8], members: [TopLevelMember], model upstreamModel: String,
        _ write: (UnsafeRawBufferPointer) -> Void
    ) {
        bytes.withUnsafeBytes { source in
            guard let first = members.first?.span, let last = members.last?.span else { return write(source) }
            write(UnsafeRawBufferPointer(rebasing: source[0..<first.keyStart]))
            var previousKept: Int?
            for (index, member) in members.enumerated() {
                let span = member.span
                if member.forwarding == .removed { continue }
                if let previous = previousKept {
                    // The separator that originally followed the previous kept member (its comma included).
                    let separator = members[previous].span.valueEnd..<members[previous + 1].span.keyStart
                    write(UnsafeRawBufferPointer(rebasing: source[separator]))
                }
                if member.forwarding == .modelReplaced {
                    write(UnsafeRawBufferPointer(rebasing: source[span.keyStart..<span.valueStart]))
                    var quoted: [UInt8] = []
                    JSONText.appendQuoted(upstreamModel, to: &quoted)
                    quoted.withUnsafeBytes(write)
                } else {
                    write(UnsafeRawBufferPointer(rebasing: source[span.keyStart..<span.valueEnd]))
                }
                previousKept = index
            }
            write(UnsafeRawBufferPointer(rebasing: source[last.valueEnd...]))
        }
    }
}

extension InvalidRequest {
    /// The body is not JSON.
    static func notJSON(_ error: JSONSyntaxError) -> InvalidRequest {
        InvalidRequest(message: "The request body is not valid JSON: \(error.reason) at byte \(error.offset)")
    }

    /// The body is JSON but not an object.
    static let notAnObject = InvalidRequest(message: "The request body must be a JSON object")
}
