import Foundation
import NIOPosix

/// Request bodies and headers the server tests send.
enum Requests {
    static func body(model: String, stream: Bool = false, extra: String = "") -> String {
        #"{"model":"\#(model)","max_tokens":256,"stream":\#(stream),"messages":[{"role":"user","content":"Hi"}]\#(extra)}"#
    }

    static func headers(key: String, bearer: Bool = false) -> [(String, String)] {
        var headers = [("content-type", "application/json"), ("anthropic-version", "2023-06-01")]
        headers.append(bearer ? ("authorization", "Bearer \(key)") : ("x-api-key", key))
        return headers
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    static var group: MultiThreadedEventLoopGroup { .singleton }
}
