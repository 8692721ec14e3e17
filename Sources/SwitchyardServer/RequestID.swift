import Foundation

/// Request ids in the Anthropic style: `req_` and 22 base62 characters.
///
/// The first 8 characters are the time in milliseconds (so ids sort by creation time, and the usage table's
/// primary-key index grows at its end instead of being rewritten all over — measured as the largest storage
/// cost under load); the other 14 are random (83 bits).
enum RequestID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var time = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        var bytes = [UInt8](repeating: 0, count: 26)
        bytes[0] = UInt8(ascii: "r"); bytes[1] = UInt8(ascii: "e"); bytes[2] = UInt8(ascii: "q"); bytes[3] = UInt8(ascii: "_")
        // 62^8 ms is about 6,900 years: fixed width, most significant digit first.
        for index in stride(from: 11, through: 4, by: -1) {
            bytes[index] = alphabet[Int(time % 62)]
            time /= 62
        }
        for index in 12..<19 {
            bytes[index] = alphabet[Int(high % 62)]
            high /= 62
        }
        for index in 19..<26 {
            bytes[index] = alphabet[Int(low % 62)]
            low /= 62
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
