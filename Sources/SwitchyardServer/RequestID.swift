import Foundation
import Synchronization

/// Request ids in the Anthropic style: `req_` and 22 base62 characters.
///
/// The first 8 characters are the time in milliseconds (so ids sort by creation time, and the usage table's
/// primary-key index grows at its end instead of being rewritten all over — measured as the largest storage
/// cost under load). The other 14 (83 bits) come from a counter mixed with a per-process random seed (the
/// SplitMix64 finalizer): distinct for every id of a process except with negligible probability, different
/// between processes, and made without a system call. Ids are identifiers, not secrets — the mixing is reversible
/// and must not be relied on to make them unpredictable; reading the kernel's CSPRNG twice per request was
/// measured on the hot path.
enum RequestID {
    private static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    private static let seed: (UInt64, UInt64) = {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }()
    private static let counter = Atomic<UInt64>(0)

    static func make() -> String {
        let count = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        var time = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        var high = mix(count &+ seed.0)
        var low = mix(count ^ seed.1)
        return String(unsafeUninitializedCapacity: 26) { bytes in
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
            return 26
        }
    }

    /// A bijection on 64-bit values that spreads every input bit over the output (the SplitMix64 finalizer).
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
