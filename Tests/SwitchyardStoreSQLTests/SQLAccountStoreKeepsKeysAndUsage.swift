import Foundation
import SwitchyardAccounts
import SwitchyardStoreSQL
import Testing

@Suite struct SQLAccountStoreKeepsKeysAndUsage {
    @Test(arguments: Backing.allCases)
    func migrationsAreIdempotent(backing: Backing) async throws {
        try await withStore(backing) { store, _ in
            let (key, _) = makeKey()
            try await store.createKey(key)
            try await store.migrate()
            try await store.migrate()
            #expect(try await store.listKeys() == [key])
        }
    }

    @Test func concurrentMigrationsOnOneFileAgree() async throws {
        try await withTemporaryDirectory { directory in
            let url = "sqlite:" + directory.appendingPathComponent("race.db").path
            let (key, _) = makeKey()
            let seen = try await withThrowingTaskGroup(of: APIKeyRecord?.self) { group in
                for index in 0..<4 {
                    group.addTask {
                        try await withOpenStore(url: url) { store in
                            if index == 0 { try await store.createKey(key) }
                            // Every instance waits for the key, so all four are open and migrated together.
                            for _ in 0..<500 {
                                if let found = try await store.key(id: key.id) { return found }
                                try await Task.sleep(for: .milliseconds(10))
                            }
                            return nil
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(seen == Array(repeating: key, count: 4))
        }
    }

    @Test(arguments: Backing.allCases)
    func keysAreCreatedListedShownDisabledEnabledAndCredited(backing: Backing) async throws {
        try await withStore(backing) { store, _ in
            let (first, secret) = makeKey(name: "first", credits: "10", models: ["anthropic/claude-sonnet-4.5"])
            var second = makeKey(name: "second", credits: "0").0
            second.rpm = 60
            second.tpm = 100_000
            second.createdAt = Date(timeIntervalSince1970: 1_750_000_001)
            try await store.createKey(first)
            try await store.createKey(second)

            #expect(try await store.listKeys() == [first, second])
            #expect(try await store.key(id: first.id) == first)
            #expect(try await store.key(hash: APIKeySecret.hash(secret)) == first)
            #expect(try await store.key(id: "key_0000000000000000") == nil)
            #expect(try await store.key(hash: APIKeySecret.hash("sk-sy-nope")) == nil)

            #expect(try await store.setDisabled(id: first.id, true))
            #expect(try await store.key(id: first.id)?.disabled == true)
            #expect(try await store.setDisabled(id: first.id, false))
            #expect(try await store.key(id: first.id)?.disabled == false)
            #expect(try await !store.setDisabled(id: "key_missing", true))

            #expect(try await store.addCredits(id: first.id, Money(usd: "2.5")!) == Money(usd: "12.5"))
            #expect(try await store.addCredits(id: first.id, Money(usd: "-12.500000001")!) == Money(nanos: -1))
            #expect(try await store.key(id: first.id)?.credits == Money(nanos: -1))
            #expect(try await store.addCredits(id: "key_missing", Money(usd: "1")!) == nil)

            #expect(try await store.setLimits(id: second.id, rpm: .some(nil), tpm: nil, models: .some(["a/b", "c/d"])))
            let limited = try #require(try await store.key(id: second.id))
            #expect(limited.rpm == nil && limited.tpm == 100_000 && limited.models == ["a/b", "c/d"])
            #expect(try await !store.setLimits(id: "key_missing", rpm: 1, tpm: nil, models: nil))
        }
    }

    @Test(arguments: Backing.allCases)
    func aDuplicateKeyIsRefused(backing: Backing) async throws {
        try await withStore(backing) { store, _ in
            let (key, _) = makeKey()
            try await store.createKey(key)
            await #expect(throws: (any Error).self) { try await store.createKey(key) }
            var sameHash = makeKey().0
            sameHash.hash = key.hash
            await #expect(throws: (any Error).self) { try await store.createKey(sameHash) }
            #expect(try await store.listKeys().count == 1)
        }
    }

    @Test(arguments: Backing.allCases)
    func recordingTheSameBatchTwiceDeductsOnce(backing: Backing) async throws {
        try await withStore(backing) { store, _ in
            let (key, _) = makeKey(credits: "1")
            try await store.createKey(key)
            let batch = [
                makeUsage("req_a", key: key.id, cost: "0.1"),
                makeUsage("req_b", key: key.id, cost: "0.000000038"),
                makeUsage("req_a", key: key.id, cost: "0.1"),  // repeated inside the batch
            ]
            #expect(try await store.record(batch) == ["req_a", "req_b"])
            #expect(try await store.key(id: key.id)?.credits == Money(usd: "0.899999962"))
            #expect(try await store.record(batch) == [])
            #expect(try await store.record([makeUsage("req_b", key: key.id, cost: "5")]) == [])
            #expect(try await store.key(id: key.id)?.credits == Money(usd: "0.899999962"))
            #expect(try await store.usage(keyID: nil, since: nil).map(\.id) == ["req_a", "req_b"])
            #expect(try await store.record([]) == [])
        }
    }

    @Test(arguments: Backing.allCases)
    func aBatchOfSeveralStatementsIsInsertedWholeAndOnce(backing: Backing) async throws {
        try await withStore(backing) { store, _ in
            let (key, _) = makeKey(credits: "100")
            try await store.createKey(key)
            // 450 records span three INSERT statements; an id repeated across a statement boundary goes in once.
            var batch = (0..<450).map { makeUsage("req_\($0)", key: key.id, cost: "0.01") }
            batch.insert(makeUsage("req_10", key: key.id, cost: "0.01"), at: 250)
            let inserted = try await store.record(batch)
            #expect(inserted.count == 450)
            #expect(Set(inserted) == Set((0..<450).map { "req_\($0)" }))
            #expect(try await store.key(id: key.id)?.credits == Money(usd: "95.5"))
            #expect(try await store.usage(keyID: key.id, since: nil).count == 450)
            #expect(try await store.record(Array(batch[195..<205])) == [])
        }
    }

    @Test(arguments: Backing.allCases)
    func usageRoundTripsEveryFieldFilteredAndOrdered(backing: Backing) async throws {
        try await withStore(backing) { store, _ in
            let (one, _) = makeKey(name: "one")
            let (two, _) = makeKey(name: "two")
            try await store.createKey(one)
            try await store.createKey(two)
            var failed = makeUsage("req_3", key: one.id, cost: "0", at: 1_750_000_300.5, provider: "other")
            failed.ttftMs = nil
            failed.stream = false
            failed.status = 502
            failed.errorType = "api_error"
            failed.usage = .zero
            let records = [
                makeUsage("req_2", key: two.id, cost: "0.2", at: 1_750_000_200),
                failed,
                makeUsage("req_1", key: one.id, cost: "0.1", at: 1_750_000_100.125),
            ]
            #expect(try await store.record(records).count == 3)
            let all = try await store.usage(keyID: nil, since: nil)
            #expect(all == [records[2], records[0], records[1]])
            #expect(try await store.usage(keyID: one.id, since: nil) == [records[2], records[1]])
            let since = Date(timeIntervalSince1970: 1_750_000_200)
            #expect(try await store.usage(keyID: nil, since: since) == [records[0], records[1]])
            #expect(try await store.usage(keyID: two.id, since: Date(timeIntervalSince1970: 1_750_000_201)) == [])
            #expect(try await store.key(id: one.id)?.credits == Money(usd: "9.9"))
            #expect(try await store.key(id: two.id)?.credits == Money(usd: "9.8"))
        }
    }

    @Test(arguments: Backing.allCases)
    func fiftyConcurrentRecordCallsLoseNoUpdate(backing: Backing) async throws {
        try await withStore(backing) { store, _ in
            let (key, _) = makeKey(credits: "100")
            try await store.createKey(key)
            try await withThrowingTaskGroup(of: [String].self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await store.record([makeUsage("req_\(index)", key: key.id, cost: "0.013")])
                    }
                }
                var inserted = 0
                for try await ids in group { inserted += ids.count }
                #expect(inserted == 50)
            }
            #expect(try await store.key(id: key.id)?.credits == Money(usd: "99.35"))
        }
    }

    @Test func twoInstancesOnOneFileDeductAtomically() async throws {
        try await withStore(.file) { first, url in
            try await withOpenStore(url: url, migrate: false) { second in
                let (key, _) = makeKey(credits: "100")
                try await first.createKey(key)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<50 {
                        let store = index.isMultiple(of: 2) ? first : second
                        group.addTask {
                            _ = try await store.record([makeUsage("req_\(index)", key: key.id, cost: "0.5")])
                            _ = try await store.addCredits(id: key.id, Money(usd: "0.25")!)
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(try await second.key(id: key.id)?.credits == Money(usd: "87.5"))
            }
        }
    }

    @Test func aSecondInstanceOnTheSameFileSeesTheFirstsChanges() async throws {
        try await withStore(.file) { first, url in
            try await withOpenStore(url: url) { second in
                let (key, _) = makeKey(credits: "3")
                try await first.createKey(key)
                #expect(try await second.key(id: key.id) == key)
                #expect(try await first.setDisabled(id: key.id, true))
                #expect(try await second.key(hash: key.hash)?.disabled == true)
                #expect(try await second.addCredits(id: key.id, Money(usd: "1")!) == Money(usd: "4"))
                #expect(try await first.key(id: key.id)?.credits == Money(usd: "4"))
                _ = try await second.record([makeUsage("req_x", key: key.id, cost: "1")])
                #expect(try await first.usage(keyID: key.id, since: nil).map(\.id) == ["req_x"])
            }
        }
    }

    @Test(arguments: Backing.allCases)
    func cancelledCallersNeitherAbandonTransactionsNorLoseWork(backing: Backing) async throws {
        try await withStore(backing) { store, _ in
            let (key, _) = makeKey(credits: "10")
            try await store.createKey(key)
            let callers = (0..<30).map { index in
                Task { try await store.record([makeUsage("req_\(index)", key: key.id, cost: "0.1")]) }
            }
            for caller in callers { caller.cancel() }
            for caller in callers { _ = try await caller.value }
            // Every operation began ran to its end, and the connection is not stuck inside a transaction.
            #expect(try await store.usage(keyID: key.id, since: nil).count == 30)
            #expect(try await store.key(id: key.id)?.credits == Money(usd: "7"))
            #expect(try await store.addCredits(id: key.id, Money(usd: "1")!) == Money(usd: "8"))
        }
    }

    @Test func aFileStoreUsesWriteAheadLogging() async throws {
        try await withStore(.file) { store, url in
            try await store.createKey(makeKey().0)
            let path = String(url.dropFirst("sqlite:".count))
            #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        }
    }

    @Test func creditsThatWouldOverflowAreRefused() async throws {
        try await withStore(.memory) { store, _ in
            let (key, _) = makeKey(credits: "9000000000")
            try await store.createKey(key)
            await #expect(throws: SQLAccountStoreError.amountOutOfRange(keyID: key.id)) {
                try await store.addCredits(id: key.id, Money(usd: "9000000000")!)
            }
            #expect(try await store.key(id: key.id)?.credits == Money(usd: "9000000000"))
        }
    }

    @Test func pingAnswersAndAShutDownStoreRefusesWork() async throws {
        let store = try await SQLAccountStore.open(url: "sqlite::memory:", logger: quietLogger)
        try await store.migrate()
        try await store.ping()
        try await store.shutdown()
        await #expect(throws: SQLAccountStoreError.shutDown) { try await store.ping() }
        try await store.shutdown()  // twice is harmless
    }

    @Test func eachMemoryStoreIsPrivate() async throws {
        try await withStore(.memory) { first, url in
            try await withOpenStore(url: url) { second in
                try await first.createKey(makeKey().0)
                #expect(try await second.listKeys().isEmpty)
            }
        }
    }
}

@Suite struct StorageURLsAreCheckedOnOpen {
    @Test func postgresIsRecognizedButNotAvailableYet() async throws {
        await #expect(throws: SQLAccountStoreError.postgresUnavailable) {
            _ = try await SQLAccountStore.open(url: "postgres://user:pass@localhost:5432/db", logger: quietLogger)
        }
        let message = SQLAccountStoreError.postgresUnavailable.description
        #expect(message.contains("PostgreSQL storage is not available in this build yet"))
    }

    @Test(arguments: ["", "sqlite:", "mysql://localhost/db", "switchyard.db", "sqlite://"])
    func otherURLsAreRefused(url: String) async throws {
        await #expect(throws: SQLAccountStoreError.unsupportedURL(url)) {
            _ = try await SQLAccountStore.open(url: url, logger: quietLogger)
        }
    }

    @Test func theDoubleSlashFormNamesTheSameFile() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("slashes.db").path
            let (key, _) = makeKey()
            try await withOpenStore(url: "sqlite:" + path) { try await $0.createKey(key) }
            let found = try await withOpenStore(url: "sqlite://" + path, migrate: false) {
                try await $0.key(id: key.id)
            }
            #expect(found == key)
        }
    }
}
