import Foundation
import SwitchyardAccounts
import SwitchyardStoreSQL
import Testing

/// The ledger over the real store, with a second store instance on the same file playing the CLI.
@Suite struct AccountLedgerOverSQLiteSeesCLIChanges {
    @Test func chargesAreStoredOnceAndCLIChangesAreSeenAfterRefresh() async throws {
        try await withStore(.file) { server, url in
            let (key, secret) = makeKey(credits: "1")
            try await server.createKey(key)
            let ledger = AccountLedger(store: server)
            let hash = APIKeySecret.hash(secret)
            #expect(ledger.lookup(hash: hash) == .unknown)
            #expect(try await ledger.load(hash: hash)?.balance == Money(usd: "1"))

            for index in 0..<20 { ledger.charge(makeUsage("req_\(index)", key: key.id, cost: "0.01")) }
            guard case .found(let charged) = ledger.lookup(hash: hash) else { Issue.record("key not cached"); return }
            #expect(charged.balance == Money(usd: "0.8"))
            try await ledger.flush()
            try await ledger.flush()

            try await withOpenStore(url: url, migrate: false) { cli async throws in
                #expect(try await cli.key(id: key.id)?.credits == Money(usd: "0.8"))
                #expect(try await cli.usage(keyID: key.id, since: nil).count == 20)
                #expect(try await cli.setDisabled(id: key.id, true))
                #expect(try await cli.addCredits(id: key.id, Money(usd: "5")!) == Money(usd: "5.8"))
            }
            ledger.charge(makeUsage("req_late", key: key.id, cost: "0.3"))
            try await ledger.refresh()
            guard case .found(let refreshed) = ledger.lookup(hash: hash) else { Issue.record("key lost"); return }
            #expect(refreshed.disabled)
            #expect(refreshed.balance == Money(usd: "5.5"))
            try await ledger.flush()
            try await ledger.refresh()
            #expect(ledger.lookup(hash: hash) == .found(KeySnapshot(
                id: key.id, name: key.name, balance: Money(usd: "5.5")!, disabled: true, models: nil)))
            #expect(try await server.key(id: key.id)?.credits == Money(usd: "5.5"))
        }
    }

    @Test func runWritesEverythingChargedBeforeItWasCancelled() async throws {
        try await withStore(.memory) { store, _ in
            let (key, _) = makeKey(credits: "10")
            try await store.createKey(key)
            let ledger = AccountLedger(
                store: store, refreshInterval: .milliseconds(20), flushInterval: .milliseconds(5))
            let running = Task { try await ledger.run() }
            await withDiscardingTaskGroup { group in
                for worker in 0..<10 {
                    group.addTask {
                        for index in 0..<50 {
                            ledger.charge(makeUsage("req_\(worker)_\(index)", key: key.id, cost: "0.001"))
                            if index.isMultiple(of: 10) { await Task.yield() }
                        }
                    }
                }
            }
            running.cancel()
            try await running.value
            #expect(ledger.pendingCount == 0)
            #expect(try await store.usage(keyID: key.id, since: nil).count == 500)
            #expect(try await store.key(id: key.id)?.credits == Money(usd: "9.5"))
            try await ledger.refresh()
            guard case .found(let snapshot) = ledger.lookup(hash: key.hash) else { Issue.record("not found"); return }
            #expect(snapshot.balance == Money(usd: "9.5"))
        }
    }
}
