import ArgumentParser
import Foundation
import SwitchyardAccounts

/// `switchyard keys …`: create and administer API keys (SPEC §1).
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create and administer API keys.",
        discussion: """
            Works against the storage in the configuration, also while the server runs: disable, enable and \
            credit take effect on every running instance within one second.
            """,
        subcommands: [Create.self, List.self, Show.self, Disable.self, Enable.self, Credit.self, Limits.self]
    )
}

/// The model ids of a `--models M,M` option.
func parsedModels(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

extension Keys {
    /// `keys create --name N [--credits USD] [--rpm N] [--tpm N] [--models M,M] [--json]`
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key and print its secret (shown this once only).")

        @OptionGroup var options: GlobalOptions

        @Option(help: "A label for the key.")
        var name: String

        @Option(help: ArgumentHelp("Starting credits in US dollars.", valueName: "USD"))
        var credits: USDArgument = USDArgument(money: .zero)

        @Option(help: "Requests per minute allowed (default: no limit).")
        var rpm: Int?

        @Option(help: "Tokens per minute allowed (default: no limit).")
        var tpm: Int?

        @Option(help: ArgumentHelp("Comma-separated model ids the key may use (default: all).", valueName: "M,M"))
        var models: String?

        @Flag(help: "Print JSON: {\"id\", \"key\", \"name\", \"credits\"}.")
        var json = false

        func validate() throws {
            if name.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--name must not be empty") }
            if let rpm, rpm <= 0 { throw ValidationError("--rpm must be a positive number") }
            if let tpm, tpm <= 0 { throw ValidationError("--tpm must be a positive number") }
            if let models, parsedModels(models).isEmpty {
                throw ValidationError("--models needs at least one model id (omit it to allow all models)")
            }
        }

        func run() async throws {
            let (record, secret) = APIKeyRecord.create(
                name: name, credits: credits.money, rpm: rpm, tpm: tpm, models: models.map(parsedModels))
            try await withAccountStore(options) { store in try await store.createKey(record) }
            if json {
                print(
                    AccountsJSON.object([
                        ("id", .string(record.id)),
                        ("key", .string(secret)),
                        ("name", .string(record.name)),
                        ("credits", .money(record.credits)),
                    ]).rendered)
            } else {
                let credits = record.credits.usdString
                print("Created API key \(record.id) (\"\(record.name)\") with \(credits) USD of credits.")
                print("")
                print("    \(secret)")
                print("")
                print("This secret will not be shown again: store it now. Only its prefix \(record.prefix) is kept.")
            }
        }
    }

    /// `keys list [--json]`
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every API key (secrets are never shown).")

        @OptionGroup var options: GlobalOptions

        @Flag(help: "Print a JSON array of keys.")
        var json = false

        func run() async throws {
            let keys = try await withAccountStore(options) { store in try await store.listKeys() }
            if json {
                print(AccountsJSON.array(keys.map(AccountsJSON.key)).rendered)
                return
            }
            guard !keys.isEmpty else {
                print("No API keys yet. Create one with: switchyard keys create --name NAME --credits USD")
                return
            }
            let rows = keys.map { key in
                [
                    key.id, key.name, key.prefix, key.credits.usdString, key.disabled ? "disabled" : "active",
                    key.rpm.map(String.init) ?? "-", key.tpm.map(String.init) ?? "-",
                    key.models?.joined(separator: ",") ?? "all", AccountsFormat.timestamp(key.createdAt),
                ]
            }
            print(
                AccountsFormat.table(
                    header: ["ID", "NAME", "PREFIX", "CREDITS (USD)", "STATUS", "RPM", "TPM", "MODELS", "CREATED"],
                    rows: rows, rightAligned: [3, 5, 6]))
        }
    }

    /// `keys show ID [--json]`
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one API key, with its current balance.")

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The key id (key_…).")
        var id: String

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let key = try await withAccountStore(options) { store in try await store.key(id: id) }
            guard let key else { throw AccountsFormat.fail("no API key with id \(id)") }
            AccountsFormat.printKey(key, json: json)
        }
    }

    /// `keys disable ID [--json]`
    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable an API key: its requests are refused (401) within one second.")

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The key id (key_…).")
        var id: String

        @Flag(help: "Print the key as JSON.")
        var json = false

        func run() async throws {
            try await setDisabled(id: id, true, options: options, json: json)
        }
    }

    /// `keys enable ID [--json]`
    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled API key again.")

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The key id (key_…).")
        var id: String

        @Flag(help: "Print the key as JSON.")
        var json = false

        func run() async throws {
            try await setDisabled(id: id, false, options: options, json: json)
        }
    }

    /// `keys credit ID --add USD [--json]`
    struct Credit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add credits to an API key (a negative amount removes them).")

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The key id (key_…).")
        var id: String

        // Unconditional, so that a negative amount (`--add -1`) is read as the value, not as a flag.
        @Option(
            parsing: .unconditional,
            help: ArgumentHelp("US dollars to add, e.g. 10 or 2.50 or -1.", valueName: "USD"))
        var add: USDArgument

        @Flag(help: "Print the key as JSON.")
        var json = false

        func run() async throws {
            let key = try await withAccountStore(options) { store -> APIKeyRecord? in
                guard try await store.addCredits(id: id, add.money) != nil else { return nil }
                return try await store.key(id: id)
            }
            guard let key else { throw AccountsFormat.fail("no API key with id \(id)") }
            if json {
                AccountsFormat.printKey(key, json: true)
            } else {
                let removing = add.money < .zero
                let change = removing
                    ? "Removed \((-add.money).usdString) USD from" : "Added \(add.money.usdString) USD to"
                print("\(change) \(key.id); balance now \(key.credits.usdString) USD.")
            }
        }
    }

    /// `keys limits ID [--rpm N|none] [--tpm N|none] [--models M,M|all] [--json]`
    struct Limits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change an API key's limits: requests and tokens per minute, and the models it may use.",
            discussion: "Only the options given change; `none` removes a limit, `--models all` allows every model. "
                + "Running servers apply the change within one second.")

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The key id (key_…).")
        var id: String

        @Option(help: ArgumentHelp("Requests per minute, or `none`.", valueName: "N|none"))
        var rpm: String?

        @Option(help: ArgumentHelp("Input+output tokens per minute, or `none`.", valueName: "N|none"))
        var tpm: String?

        @Option(help: ArgumentHelp("Comma-separated model ids the key may use, or `all`.", valueName: "M,M|all"))
        var models: String?

        @Flag(help: "Print the key as JSON.")
        var json = false

        static func limit(_ text: String?, _ name: String) throws -> Int?? {
            guard let text else { return .none }
            if text == "none" { return .some(nil) }
            guard let value = Int(text), value > 0 else {
                throw ValidationError("--\(name) takes a positive number or `none`, not '\(text)'")
            }
            return .some(value)
        }

        func run() async throws {
            let rpm = try Self.limit(self.rpm, "rpm")
            let tpm = try Self.limit(self.tpm, "tpm")
            let models: [String]?? = self.models.map { $0 == "all" ? nil : parsedModels($0) }
            guard rpm != nil || tpm != nil || models != nil else {
                throw ValidationError("give at least one of --rpm, --tpm, --models")
            }
            let key = try await withAccountStore(options) { store -> APIKeyRecord? in
                guard try await store.setLimits(id: id, rpm: rpm, tpm: tpm, models: models) else { return nil }
                return try await store.key(id: id)
            }
            guard let key else { throw AccountsFormat.fail("no API key with id \(id)") }
            AccountsFormat.printKey(key, json: json)
        }
    }

    private static func setDisabled(id: String, _ disabled: Bool, options: GlobalOptions, json: Bool) async throws {
        let key = try await withAccountStore(options) { store -> APIKeyRecord? in
            guard try await store.setDisabled(id: id, disabled) else { return nil }
            return try await store.key(id: id)
        }
        guard let key else { throw AccountsFormat.fail("no API key with id \(id)") }
        if json {
            AccountsFormat.printKey(key, json: true)
        } else {
            print("\(disabled ? "Disabled" : "Enabled") API key \(key.id) (\"\(key.name)\").")
        }
    }
}

/// A dollar amount given on the command line, parsed exactly (no floating point).
struct USDArgument: ExpressibleByArgument {
    var money: Money

    init(money: Money) {
        self.money = money
    }

    init?(argument: String) {
        guard let money = Money(usd: argument) else { return nil }
        self.money = money
    }

    var defaultValueDescription: String { money.usdString }
}

/// Opens the configured store, runs `body`, and shuts the store down whether `body` succeeded or not.
func withAccountStore<Result>(
    _ options: GlobalOptions, _ body: (any AccountStore) async throws -> Result
) async throws -> Result {
    let store = try await options.openStore()
    let result: Result
    do {
        result = try await body(store)
    } catch {
        try? await store.shutdown()
        throw error
    }
    try await store.shutdown()
    return result
}

/// Output helpers shared by `keys` and `usage`.
enum AccountsFormat {
    /// Writes `error: <message>` to standard error and returns the exit code to throw (1).
    static func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        return ExitCode.failure
    }

    /// Prints a key as JSON, or as aligned `field: value` lines.
    static func printKey(_ key: APIKeyRecord, json: Bool) {
        if json {
            print(AccountsJSON.key(key).rendered)
            return
        }
        let fields: [(String, String)] = [
            ("id", key.id),
            ("name", key.name),
            ("prefix", key.prefix + "…"),
            ("credits", key.credits.usdString + " USD"),
            ("status", key.disabled ? "disabled" : "active"),
            ("rpm", key.rpm.map(String.init) ?? "no limit"),
            ("tpm", key.tpm.map(String.init) ?? "no limit"),
            ("models", key.models?.joined(separator: ", ") ?? "all"),
            ("created", timestamp(key.createdAt)),
        ]
        let width = fields.map(\.0.count).max() ?? 0
        for (label, value) in fields {
            print(label + ":" + String(repeating: " ", count: width - label.count + 2) + value)
        }
    }

    /// An ISO 8601 UTC timestamp with milliseconds, e.g. `2025-06-15T12:00:00.250Z`.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Columns padded to their widest cell, two spaces apart; `rightAligned` lists numeric columns.
    static func table(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> String {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (column, cell) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], cell.count)
            }
        }
        return all.map { row in
            var line = ""
            for (column, cell) in row.enumerated() where column < widths.count {
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                if column > 0 { line += "  " }
                line += rightAligned.contains(column) ? padding + cell : cell + padding
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }
}

/// A JSON value written by hand so that amounts print exactly (`credits` as a JSON number in USD with no
/// floating-point rounding) and object keys keep their order.
indirect enum AccountsJSON {
    case string(String)
    /// A number, already in JSON number syntax.
    case number(String)
    case bool(Bool)
    case null
    case array([AccountsJSON])
    case object([(String, AccountsJSON)])

    static func int(_ value: Int) -> AccountsJSON { .number(String(value)) }
    static func money(_ value: Money) -> AccountsJSON { .number(value.usdString) }
    static func optionalInt(_ value: Int?) -> AccountsJSON { value.map(int) ?? .null }
    static func optionalString(_ value: String?) -> AccountsJSON { value.map(string) ?? .null }
    static func date(_ value: Date) -> AccountsJSON { .string(AccountsFormat.timestamp(value)) }

    /// A key as `keys show --json` prints it; `credits` is the current stored balance in USD.
    static func key(_ key: APIKeyRecord) -> AccountsJSON {
        .object([
            ("id", .string(key.id)),
            ("name", .string(key.name)),
            ("prefix", .string(key.prefix)),
            ("credits", .money(key.credits)),
            ("disabled", .bool(key.disabled)),
            ("rpm", .optionalInt(key.rpm)),
            ("tpm", .optionalInt(key.tpm)),
            ("models", key.models.map { .array($0.map(AccountsJSON.string)) } ?? .null),
            ("created_at", .date(key.createdAt)),
        ])
    }

    /// The value as indented JSON text.
    var rendered: String {
        var output = ""
        write(to: &output, indent: 0)
        return output
    }

    private func write(to output: inout String, indent: Int) {
        switch self {
        case .string(let text): Self.writeString(text, to: &output)
        case .number(let text): output += text
        case .bool(let value): output += value ? "true" : "false"
        case .null: output += "null"
        case .array(let items):
            guard !items.isEmpty else { output += "[]"; return }
            output += "[\n"
            for (index, item) in items.enumerated() {
                output += String(repeating: " ", count: indent + 2)
                item.write(to: &output, indent: indent + 2)
                output += index < items.count - 1 ? ",\n" : "\n"
            }
            output += String(repeating: " ", count: indent) + "]"
        case .object(let members):
            guard !members.isEmpty else { output += "{}"; return }
            output += "{\n"
            for (index, (name, value)) in members.enumerated() {
                output += String(repeating: " ", count: indent + 2)
                Self.writeString(name, to: &output)
                output += ": "
                value.write(to: &output, indent: indent + 2)
                output += index < members.count - 1 ? ",\n" : "\n"
            }
            output += String(repeating: " ", count: indent) + "}"
        }
    }

    private static func writeString(_ text: String, to output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
