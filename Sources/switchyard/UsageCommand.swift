import ArgumentParser
import Foundation
import SwitchyardAccounts

/// `switchyard usage [--key ID] [--since ISO8601] [--json]`: spend and token totals by model and provider
/// (SPEC §1); with `--json` also every request.
struct Usage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Show spend and token totals by model and provider.",
        discussion: """
            With --json the output also lists every request (id, key, model, provider, tokens, cost, status, \
            latency).
            """
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: ArgumentHelp("Only this key's requests.", valueName: "ID"))
    var key: String?

    @Option(
        help: ArgumentHelp(
            "Only requests made at or after this time: 2025-06-01, 2025-06-01T12:00:00Z or with an offset.",
            valueName: "ISO8601"))
    var since: String?

    @Flag(help: "Print JSON: totals, totals by model and provider, and every request.")
    var json = false

    func validate() throws {
        if let since, Self.parseTimestamp(since) == nil {
            throw ValidationError(
                "--since '\(since)' is not an ISO 8601 date or time (e.g. 2025-06-01 or 2025-06-01T12:00:00Z)")
        }
    }

    func run() async throws {
        let sinceDate = since.flatMap(Self.parseTimestamp)
        let records = try await withAccountStore(options) { store -> [UsageRecord]? in
            if let key, try await store.key(id: key) == nil { return nil }
            return try await store.usage(keyID: key, since: sinceDate)
        }
        guard let records else { throw AccountsFormat.fail("no API key with id \(key ?? "")") }

        let groups = UsageTotals.byModel(records)
        let total = UsageTotals(records)
        if json {
            print(
                AccountsJSON.object([
                    ("key", .optionalString(key)),
                    ("since", sinceDate.map(AccountsJSON.date) ?? .null),
                    ("totals", total.json(label: [])),
                    ("by_model", .array(groups.map(Self.groupJSON))),
                    ("requests", .array(records.map(Self.requestJSON))),
                ]).rendered)
            return
        }

        var scope = "All usage"
        if let key { scope += " of key \(key)" }
        if let sinceDate { scope += " since \(AccountsFormat.timestamp(sinceDate))" }
        print(scope + ":")
        guard !records.isEmpty else {
            print("no requests.")
            return
        }
        print("")
        let header = ["MODEL", "PROVIDER", "REQUESTS", "INPUT", "OUTPUT", "CACHE READ", "CACHE WRITE", "COST (USD)"]
        var rows = groups.map { [$0.model, $0.provider] + $0.totals.cells }
        rows.append(["TOTAL", ""] + total.cells)
        print(AccountsFormat.table(header: header, rows: rows, rightAligned: Set(2...7)))
    }

    private static func groupJSON(_ group: (model: String, provider: String, totals: UsageTotals)) -> AccountsJSON {
        group.totals.json(label: [("model", .string(group.model)), ("provider", .string(group.provider))])
    }

    private static func requestJSON(_ record: UsageRecord) -> AccountsJSON {
        .object([
            ("id", .string(record.id)),
            ("key", .string(record.keyID)),
            ("model", .string(record.model)),
            ("provider", .string(record.provider)),
            ("upstream_model", .string(record.upstreamModel)),
            ("input_tokens", .int(record.usage.input)),
            ("output_tokens", .int(record.usage.output)),
            ("cache_read_tokens", .int(record.usage.cacheRead)),
            ("cache_write_tokens", .int(record.usage.cacheWrite)),
            ("cost", .money(record.cost)),
            ("status", .int(record.status)),
            ("latency_ms", .int(record.latencyMs)),
            ("ttft_ms", .optionalInt(record.ttftMs)),
            ("stream", .bool(record.stream)),
            ("error_type", .optionalString(record.errorType)),
            ("moderation", .optionalString(record.moderation)),
            ("attempts", .array(record.attempts.map { attempt in
                .object([
                    ("provider", .string(attempt.provider)),
                    ("model", .string(attempt.model)),
                    ("upstream_model", .string(attempt.upstreamModel)),
                    ("outcome", .string(attempt.outcome)),
                    ("latency_ms", .int(attempt.latencyMs)),
                ])
            })),
            ("created_at", .date(record.createdAt)),
        ])
    }

    /// Parses `2025-06-01` (midnight UTC), `2025-06-01T12:00:00Z`, with fractional seconds, with an offset
    /// (`+02:00`), or with a space instead of `T`.
    static func parseTimestamp(_ text: String) -> Date? {
        let text = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: " ", with: "T")
        let formatter = ISO8601DateFormatter()
        let attempts: [ISO8601DateFormatter.Options] = [
            [.withInternetDateTime, .withFractionalSeconds],
            [.withInternetDateTime],
            [.withFullDate],
        ]
        for options in attempts {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}

/// Request count, tokens by kind and cost of a set of usage records.
struct UsageTotals {
    var requests = 0
    var tokens = TokenUsage.zero
    var cost = Money.zero

    init() {}

    init(_ records: some Sequence<UsageRecord>) {
        for record in records { add(record) }
    }

    mutating func add(_ record: UsageRecord) {
        requests += 1
        tokens.input += record.usage.input
        tokens.output += record.usage.output
        tokens.cacheRead += record.usage.cacheRead
        tokens.cacheWrite += record.usage.cacheWrite
        cost += record.cost
    }

    /// Totals per (model, provider), sorted by model then provider.
    static func byModel(_ records: [UsageRecord]) -> [(model: String, provider: String, totals: UsageTotals)] {
        var groups: [[String]: UsageTotals] = [:]
        for record in records { groups[[record.model, record.provider], default: UsageTotals()].add(record) }
        return groups.map { (model: $0.key[0], provider: $0.key[1], totals: $0.value) }
            .sorted { ($0.model, $0.provider) < ($1.model, $1.provider) }
    }

    /// Table cells: requests, input, output, cache read, cache write, cost.
    var cells: [String] {
        [String(requests), String(tokens.input), String(tokens.output), String(tokens.cacheRead),
         String(tokens.cacheWrite), cost.usdString]
    }

    func json(label: [(String, AccountsJSON)]) -> AccountsJSON {
        .object(
            label + [
                ("requests", .int(requests)),
                ("input_tokens", .int(tokens.input)),
                ("output_tokens", .int(tokens.output)),
                ("cache_read_tokens", .int(tokens.cacheRead)),
                ("cache_write_tokens", .int(tokens.cacheWrite)),
                ("cost", .money(cost)),
            ])
    }
}
