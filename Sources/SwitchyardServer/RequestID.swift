/// Request ids in the Anthropic style: `req_` and 22 base62 characters (128 random bits).
enum RequestID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        var bytes = [UInt8](repeating: 0, count: 26)
        bytes[0] = UInt8(ascii: "r"); bytes[1] = UInt8(ascii: "e"); bytes[2] = UInt8(ascii: "q"); bytes[3] = UInt8(ascii: "_")
        for index in 4..<15 {
            bytes[index] = alphabet[Int(high % 62)]
            high /= 62
        }
        for index in 15..<26 {
            bytes[index] = alphabet[Int(low % 62)]
            low /= 62
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
