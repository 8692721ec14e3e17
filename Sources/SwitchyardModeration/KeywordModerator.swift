import Foundation
import SwitchyardMessages

/// The built-in moderation checker: regular expressions, compiled once at start-up, matched against every checked
/// part of the input. The first pattern (in configuration order) that matches any part flags the request.
public struct KeywordModerator: Sendable {
    private struct Pattern: @unchecked Sendable {
        // NSRegularExpression is immutable once built and documented as safe to use from several threads.
        let source: String
        let expression: NSRegularExpression
    }

    private let patterns: [Pattern]

    /// Compiles `patterns` (ICU syntax, e.g. `(?i)\bbanned\b`). Throws for one that does not compile.
    public init(patterns: [String]) throws {
        self.patterns = try patterns.map { Pattern(source: $0, expression: try NSRegularExpression(pattern: $0)) }
    }

    /// The first match, or nil when the input is clean.
    public func check(_ input: ModerationInput) -> ModerationVerdict? {
        for pattern in patterns {
            for part in input.parts {
                let range = NSRange(part.text.startIndex..<part.text.endIndex, in: part.text)
                if pattern.expression.firstMatch(in: part.text, options: [], range: range) != nil {
                    return ModerationVerdict(reason: "pattern \(pattern.source)", location: part.location)
                }
            }
        }
        return nil
    }
}
