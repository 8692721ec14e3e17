/// A problem in a configuration file, located as exactly as possible.
///
/// Its description is the one-line form editors and CI logs understand:
/// `switchyard.yaml:12: models[0].endpoints[0].provider: unknown provider 'foo' (known: anthropic, deepseek)`.
public struct ConfigError: Error, Hashable, CustomStringConvertible {
    /// The file the configuration came from (as given to the loader), or another label for in-memory text.
    public var source: String
    /// The 1-based line the problem is on, when known.
    public var line: Int?
    /// The key the problem concerns, e.g. `models[0].endpoints[0].provider`; empty for the document as a whole.
    public var keyPath: String
    /// What is wrong, as a human sentence fragment.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - source: The file name or label.
    ///   - line: The 1-based line, if known.
    ///   - keyPath: The dotted/indexed key path, or empty.
    ///   - message: What is wrong.
    public init(source: String, line: Int?, keyPath: String, message: String) {
        self.source = source
        self.line = line
        self.keyPath = keyPath
        self.message = message
    }

    /// `source:line: keyPath: message`, leaving out the parts that are unknown.
    public var description: String {
        var text = self.source
        if let line = self.line {
            text += ":\(line)"
        }
        text += ": "
        if !self.keyPath.isEmpty {
            text += self.keyPath + ": "
        }
        return text + self.message
    }
}
