import SwitchyardMessages

/// The UTF-8 bytes of `text`.
func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

/// The text of `bytes`.
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// Parses `text` as JSON, or returns the syntax error.
func parseJSON(_ text: String) -> Result<JSONValue, JSONSyntaxError> {
    do throws(JSONSyntaxError) {
        return .success(try JSONParser.parse(utf8(text)))
    } catch {
        return .failure(error)
    }
}

/// Parses raw bytes as JSON through the `UnsafeRawBufferPointer` entry point.
func parseJSON(bytes: [UInt8]) -> Result<JSONValue, JSONSyntaxError> {
    bytes.withUnsafeBytes { buffer in
        do throws(JSONSyntaxError) {
            return .success(try JSONParser.parse(buffer))
        } catch {
            return .failure(error)
        }
    }
}

/// The message of the `InvalidRequest` that `body` is refused with, or `nil` if it is accepted.
func rejection(_ body: String) -> String? {
    do throws(InvalidRequest) {
        _ = try MessagesRequest.parse(utf8(body))
        return nil
    } catch {
        return error.message
    }
}

/// The accepted request, or `nil` (the failure is recorded by the caller's expectation).
func accepted(_ body: String) -> MessagesRequest? {
    try? MessagesRequest.parse(utf8(body))
}

/// A minimal valid Messages body with `members` (a JSON member list, without braces) appended.
func messagesBody(
    _ members: String = "",
    messages: String = #"[{"role":"user","content":"hi"}]"#,
    maxTokens: String = "100"
) -> String {
    let extra = members.isEmpty ? "" : ",\(members)"
    return #"{"model":"claude-test","max_tokens":\#(maxTokens),"messages":\#(messages)\#(extra)}"#
}

/// A body whose only message has `blocks` (a JSON array text) as content.
func blocksBody(_ blocks: String) -> String {
    messagesBody(messages: #"[{"role":"user","content":\#(blocks)}]"#)
}
