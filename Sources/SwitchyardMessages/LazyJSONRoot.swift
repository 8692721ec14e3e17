import Synchronization

/// The full ``JSONObject`` of a body that has already been validated, parsed the first time it is asked for and
/// then kept. Shared by the copies of a request, from any thread.
final class LazyJSONRoot: Sendable {
    private let body: [UInt8]
    private let parsed = Mutex<JSONObject?>(nil)

    /// `body` must be a JSON object that ``RequestBody/skim(_:_:)`` accepted.
    init(body: [UInt8]) {
        self.body = body
    }

    /// The parsed body.
    var object: JSONObject {
        parsed.withLock { cached in
            if let cached { return cached }
            let object: JSONObject
            do throws(InvalidRequest) {
                object = try RequestBody.parse(body).root
            } catch {
                // Unreachable: the skim parse ran the same grammar code over these bytes and found an object.
                preconditionFailure("a body that passed validation failed to parse: \(error)")
            }
            cached = object
            return object
        }
    }
}
