import Crypto

/// The secrets of Switchyard API keys: generation, hashing for storage, display prefix, and a cheap
/// shape check.
///
/// A secret is `sk-sy-` followed by 40 base62 characters (about 238 bits of entropy) drawn from the
/// system CSPRNG. Only its SHA-256 hash is stored; the secret itself is shown once, at creation.
public enum APIKeySecret {
    /// The prefix every secret starts with.
    public static let prefix = "sk-sy-"

    /// The number of random base62 characters after the prefix.
    public static let randomLength = 40

    /// The total length of a secret in bytes (all ASCII).
    public static let length = 6 + randomLength

    /// How many leading characters ``displayPrefix(_:)`` keeps.
    public static let displayPrefixLength = 12

    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// A new random secret, `sk-sy-` + 40 base62 characters.
    ///
    /// Uses `SystemRandomNumberGenerator` (the kernel CSPRNG: `getrandom` on Linux, `arc4random` on Darwin)
    /// with unbiased sampling.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = Array(prefix.utf8)
        bytes.reserveCapacity(length)
        for _ in 0..<randomLength {
            bytes.append(alphabet[Int.random(in: 0..<alphabet.count, using: &generator)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The lowercase hex SHA-256 of the secret's UTF-8 bytes: the form in which keys are stored and looked up.
    public static func hash(_ secret: String) -> String {
        var secret = secret
        let digest = secret.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        return digest.withUnsafeBytes { lowercaseHex($0) }
    }

    /// The first 12 characters of the secret (e.g. `sk-sy-Ab3dE9`), safe to show in listings and logs.
    public static func displayPrefix(_ secret: String) -> String {
        String(secret.prefix(displayPrefixLength))
    }

    /// Whether the text has the shape of a Switchyard secret: the prefix, the exact length and base62
    /// characters. A cheap rejection before hashing; it says nothing about whether the key exists.
    public static func looksValid(_ candidate: some StringProtocol) -> Bool {
        var text = String(candidate)
        return text.withUTF8 { looksValid(utf8: $0) }
    }

    /// ``looksValid(_:)`` for a `String`, read in place (it runs on every request).
    public static func looksValid(_ candidate: String) -> Bool {
        var text = candidate
        return text.withUTF8 { looksValid(utf8: $0) }
    }

    private static func looksValid(utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard utf8.count == length else { return false }
        var index = 0
        for byte in utf8 {
            if index < 6 {
                guard byte == prefixBytes[index] else { return false }
            } else {
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "a")...UInt8(ascii: "z"):
                    break
                default:
                    return false
                }
            }
            index += 1
        }
        return true
    }

    private static let prefixBytes: [UInt8] = Array(prefix.utf8)
}

/// Lowercase hex of raw bytes, written straight into the string's storage.
func lowercaseHex(_ bytes: UnsafeRawBufferPointer) -> String {
    let digits: StaticString = "0123456789abcdef"
    return String(unsafeUninitializedCapacity: bytes.count * 2) { output in
        digits.withUTF8Buffer { table in
            var position = 0
            for byte in bytes {
                output[position] = table[Int(byte >> 4)]
                output[position + 1] = table[Int(byte & 0x0F)]
                position += 2
            }
        }
        return bytes.count * 2
    }
}

/// `count` random bytes from the system CSPRNG, as lowercase hex.
func randomHex(byteCount: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    var bytes = [UInt8](repeating: 0, count: byteCount)
    for index in bytes.indices {
        bytes[index] = UInt8.random(in: .min ... .max, using: &generator)
    }
    return bytes.withUnsafeBytes { lowercaseHex($0) }
}
