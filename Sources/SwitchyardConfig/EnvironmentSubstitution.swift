/// `${VAR}` substitution in configuration strings.
enum EnvironmentSubstitution {
    enum Problem: Error, Equatable {
        /// `${NAME}` where NAME is not in the environment.
        case unset(String)
        /// `${` without a closing `}`.
        case unterminated
        /// `${…}` whose content is not a variable name.
        case invalidName(String)

        var message: String {
            switch self {
            case .unset(let name): "environment variable \(name) is not set"
            case .unterminated: "'${' without a closing '}'"
            case .invalidName(let name):
                "'${\(name)}' is not a variable reference (names are letters, digits and '_'; write '$$' for a literal '$')"
            }
        }
    }

    /// Replaces every `${NAME}` with the variable's value and every `$$` with `$`; any other `$` stays as is.
    /// Values are inserted verbatim (not substituted again).
    static func apply(to text: String, environment: [String: String]) -> Result<String, Problem> {
        let dollar = UInt8(ascii: "$")
        guard text.utf8.contains(dollar) else { return .success(text) }
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == dollar, index + 1 < bytes.count else {
                output.append(byte)
                index += 1
                continue
            }
            switch bytes[index + 1] {
            case dollar:
                output.append(dollar)
                index += 2
            case UInt8(ascii: "{"):
                guard let close = bytes[(index + 2)...].firstIndex(of: UInt8(ascii: "}")) else {
                    return .failure(.unterminated)
                }
                let name = String(decoding: bytes[(index + 2)..<close], as: UTF8.self)
                guard Self.isVariableName(name) else { return .failure(.invalidName(name)) }
                guard let value = environment[name] else { return .failure(.unset(name)) }
                output.append(contentsOf: value.utf8)
                index = close + 1
            default:
                output.append(byte)
                index += 1
            }
        }
        return .success(String(decoding: output, as: UTF8.self))
    }

    private static func isVariableName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        }
    }
}
