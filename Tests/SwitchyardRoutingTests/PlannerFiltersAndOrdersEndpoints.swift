import SwitchyardConfig
import SwitchyardMessages
import SwitchyardRouting
import Testing

/// Plans one model's endpoints.
private func plan(
    _ endpoints: [TestEndpoint],
    features: RequestFeatures = .none,
    board: EndpointHealthBoard? = nil,
    _ configure: (inout RoutingPreferences) -> Void = { _ in }
) -> RoutePlan<TestEndpoint> {
    var preferences = RoutingPreferences()
    configure(&preferences)
    return RoutePlanner.plan(
        models: [endpoints], features: features, preferences: preferences, health: board ?? ManualClock().board()
    )
}

/// Fails `key`'s circuit open on `board`.
private func open(_ endpoint: TestEndpoint, on board: EndpointHealthBoard) {
    for _ in 0..<board.policy.failureThreshold { board.recordFailure(endpoint.healthKey) }
}

private let a = TestEndpoint("a", input: 3_000_000, output: 15_000_000, supports: [.tools, .thinking])
private let b = TestEndpoint("b", input: 1_000_000, output: 5_000_000, supports: [.tools, .images])
private let c = TestEndpoint("c", input: 2_000_000, output: 2_000_000, supports: [])

@Suite struct PlannerFiltersAndOrdersEndpoints {
    @Test func withoutPreferencesEndpointsKeepConfigurationOrder() {
        let result = plan([a, b, c])
        #expect(result.providers == ["a", "b", "c"])
        #expect(result.exclusions.isEmpty)
        #expect(!result.onlyCircuitsExcluded)
        #expect(result.retryAfterSeconds == nil)
    }

    @Test func onlyKeepsListedProviders() {
        let result = plan([a, b, c]) { $0.only = ["c", "a"] }
        #expect(result.providers == ["a", "c"])
        #expect(result.reasons == ["b": .notInOnly])
    }

    @Test func ignoreDropsListedProviders() {
        let result = plan([a, b, c]) { $0.ignore = ["a", "zzz"] }
        #expect(result.providers == ["b", "c"])
        #expect(result.reasons == ["a": .ignored])
    }

    @Test func maxPriceExcludesEndpointsAboveEitherLimit() {
        let input = plan([a, b, c]) { $0.maxPrice = .init(input: 2_000_000) }
        #expect(input.providers == ["b", "c"])
        #expect(input.reasons == ["a": .overMaxPrice(input: true, output: false)])

        let output = plan([a, b, c]) { $0.maxPrice = .init(output: 4_999_999) }
        #expect(output.providers == ["c"])
        #expect(output.reasons["b"] == .overMaxPrice(input: false, output: true))

        let both = plan([a, b, c]) { $0.maxPrice = .init(input: 1_500_000, output: 3_000_000) }
        #expect(both.providers == [])
        #expect(both.reasons == [
            "a": .overMaxPrice(input: true, output: true),
            "b": .overMaxPrice(input: false, output: true),
            "c": .overMaxPrice(input: true, output: false),
        ])
        // A price equal to the limit is within it.
        #expect(plan([a]) { $0.maxPrice = .init(input: 3_000_000, output: 15_000_000) }.providers == ["a"])
    }

    @Test func requireParametersListsWhatIsMissing() {
        let features = RequestFeatures(needs: [.tools, .images, .thinking])
        let result = plan([a, b, c], features: features) { $0.requireParameters = true }
        #expect(result.providers == [])
        #expect(result.reasons == [
            "a": .unsupported(missing: [.images]),
            "b": .unsupported(missing: [.thinking]),
            "c": .unsupported(missing: [.images, .thinking, .tools]),
        ])
        #expect(result.reasons["c"]?.description == "does not support images, thinking, tools (require_parameters)")

        let toolsOnly = plan([a, b, c], features: RequestFeatures(needs: [.tools])) { $0.requireParameters = true }
        #expect(toolsOnly.providers == ["a", "b"])
    }

    @Test func withoutRequireParametersSupportsIsNotChecked() {
        let result = plan([a, b, c], features: RequestFeatures(needs: [.tools, .images, .documents]))
        #expect(result.providers == ["a", "b", "c"])
    }

    @Test func orderPutsListedProvidersFirstThenTheOthers() {
        let a2 = TestEndpoint("a", upstream: "a-second")
        let result = plan([a, b, a2, c]) { $0.order = ["c", "a"] }
        #expect(result.attempts == [c, a, a2, b])
        #expect(result.exclusions.isEmpty)
    }

    @Test func orderWithoutFallbacksExcludesUnlistedProviders() {
        let result = plan([a, b, c]) {
            $0.order = ["c", "b"]
            $0.allowFallbacks = false
        }
        #expect(result.providers == ["c", "b"])
        #expect(result.reasons == ["a": .notInOrder])
    }

    @Test func withoutFallbacksAndOrderOnlyThePrimaryIsKept() {
        let result = plan([a, b, c]) { $0.allowFallbacks = false }
        #expect(result.providers == ["a"])
        #expect(result.reasons == ["b": .notPrimary, "c": .notPrimary])
        // The primary is the first endpoint that passes the filters.
        let filtered = plan([a, b, c]) {
            $0.allowFallbacks = false
            $0.ignore = ["a"]
        }
        #expect(filtered.providers == ["b"])
        #expect(filtered.reasons == ["a": .ignored, "c": .notPrimary])
    }

    @Test func sortByPriceIsCheapestFirstAndStable() {
        // Totals: a 18, b 6, c 4, d 6 (ties keep configuration order: b before d).
        let d = TestEndpoint("d", input: 5_000_000, output: 1_000_000)
        let result = plan([a, b, c, d]) { $0.sort = .price }
        #expect(result.providers == ["c", "b", "d", "a"])
    }

    @Test func sortByLatencyPutsUnknownFiguresLast() {
        let clock = ManualClock()
        let board = clock.board()
        let d = TestEndpoint("d")
        board.recordSuccess(b.healthKey, latency: 0.9, throughput: nil)
        board.recordSuccess(d.healthKey, latency: 0.2, throughput: nil)
        let result = plan([a, b, c, d], board: board) { $0.sort = .latency }
        #expect(result.providers == ["d", "b", "a", "c"])
    }

    @Test func sortByThroughputIsFastestFirstUnknownLast() {
        let clock = ManualClock()
        let board = clock.board()
        board.recordSuccess(a.healthKey, latency: nil, throughput: 40)
        board.recordSuccess(c.healthKey, latency: nil, throughput: 120)
        let result = plan([a, b, c], board: board) { $0.sort = .throughput }
        #expect(result.providers == ["c", "a", "b"])
    }

    @Test func orderOverridesSortButSortHoldsWithinAProvider() {
        let a2 = TestEndpoint("a", upstream: "a-cheap", input: 1, output: 1)
        let result = plan([a, b, a2, c]) {
            $0.sort = .price
            $0.order = ["a"]
        }
        #expect(result.attempts == [a2, a, c, b])
    }

    @Test func openCircuitsAreExcludedLast() {
        let clock = ManualClock()
        let board = clock.board()
        open(b, on: board)
        let result = plan([a, b, c], board: board)
        #expect(result.providers == ["a", "c"])
        #expect(result.reasons == ["b": .circuitOpen(retryInSeconds: 30)])
        #expect(result.onlyCircuitsExcluded)
        #expect(result.retryAfterSeconds == 30)
        // The plan does not reserve the probe: the endpoint stays open and untouched.
        #expect(board.health(b.healthKey).state == .open)
    }

    @Test func filtersAreAppliedBeforeCircuits() {
        let clock = ManualClock()
        let board = clock.board()
        open(a, on: board)
        // With allow_fallbacks false, the primary is chosen before circuits: no silent fallback to b.
        let result = plan([a, b, c], board: board) { $0.allowFallbacks = false }
        #expect(result.providers == [])
        #expect(result.reasons == ["a": .circuitOpen(retryInSeconds: 30), "b": .notPrimary, "c": .notPrimary])
        #expect(!result.onlyCircuitsExcluded)
        #expect(result.retryAfterSeconds == 30)
    }

    @Test func allCircuitsOpenIsRetryableWithTheEarliestProbeTime() {
        let clock = ManualClock()
        let board = clock.board(cooldown: 30)
        open(a, on: board)
        clock.advance(20)
        open(b, on: board)
        clock.advance(0.5)
        let result = plan([a, b], board: board)
        #expect(result.attempts.isEmpty)
        #expect(result.onlyCircuitsExcluded)
        #expect(result.reasons == ["a": .circuitOpen(retryInSeconds: 10), "b": .circuitOpen(retryInSeconds: 30)])
        #expect(result.retryAfterSeconds == 10)
        #expect(result.explanation.contains("via 'a': circuit open after repeated failures; next probe in 10 s"))
    }

    @Test func aCircuitPastItsCooldownIsPlanned() {
        let clock = ManualClock()
        let board = clock.board(cooldown: 30)
        open(a, on: board)
        clock.advance(30)
        #expect(plan([a, b], board: board).providers == ["a", "b"])
    }

    @Test func filterExclusionsAreNotRetryable() {
        let result = plan([a, b]) { $0.only = ["z"] }
        #expect(result.attempts.isEmpty)
        #expect(!result.onlyCircuitsExcluded)
        #expect(result.retryAfterSeconds == nil)
    }

    @Test func fallbackModelsAreConcatenatedWithoutRepeatingAnEndpoint() {
        let x1 = TestEndpoint("p1", model: "m/x", upstream: "shared")
        let x2 = TestEndpoint("p2", model: "m/x", upstream: "x-only")
        let y1 = TestEndpoint("p3", model: "m/y", upstream: "y")
        let y2 = TestEndpoint("p1", model: "m/y", upstream: "shared")  // the same upstream endpoint as x1
        let y3 = TestEndpoint("p2", model: "m/y", upstream: "y-only")
        for preferences in [RoutingPreferences.default, { var p = RoutingPreferences(); p.ignore = ["p9"]; return p }()] {
            let result = RoutePlanner.plan(
                models: [[x1, x2], [y1, y2, y3]], features: .none, preferences: preferences, health: ManualClock().board()
            )
            #expect(result.attempts == [x1, x2, y1, y3])
            #expect(result.exclusions.isEmpty)
        }
    }

    @Test func preferencesApplyToEachModelSeparately() {
        let x1 = TestEndpoint("p1", model: "m/x", input: 9)
        let x2 = TestEndpoint("p2", model: "m/x", input: 1)
        let y1 = TestEndpoint("p1", model: "m/y", input: 5)
        let y2 = TestEndpoint("p2", model: "m/y", input: 7)
        var preferences = RoutingPreferences()
        preferences.sort = .price
        let result = RoutePlanner.plan(
            models: [[x1, x2], [y1, y2]], features: .none, preferences: preferences, health: ManualClock().board()
        )
        #expect(result.attempts == [x2, x1, y1, y2])
    }

    @Test func explanationNamesModelProviderAndReason() {
        let x1 = TestEndpoint("p1", model: "anthropic/x")
        let x2 = TestEndpoint("p2", model: "anthropic/x")
        let y1 = TestEndpoint("p3", model: "openai/y", input: 10_000_000)
        var preferences = RoutingPreferences()
        preferences.ignore = ["p1"]
        preferences.only = ["p1", "p3"]
        preferences.maxPrice = .init(input: 1_000_000)
        let result = RoutePlanner.plan(
            models: [[x1, x2], [y1]], features: .none, preferences: preferences, health: ManualClock().board()
        )
        #expect(result.attempts.isEmpty)
        #expect(
            result.explanation
                == "No endpoint can serve this request: anthropic/x via 'p1': listed in provider.ignore; "
                + "via 'p2': not in provider.only; openai/y via 'p3': input price above provider.max_price."
        )
    }

    @Test func explanationNamesTheUpstreamModelWhenAProviderHasTwo() {
        let first = TestEndpoint("p1", upstream: "small")
        let second = TestEndpoint("p1", upstream: "large")
        let result = plan([first, second]) { $0.only = ["p2"] }
        #expect(result.explanation.contains("via 'p1' (small): not in provider.only; via 'p1' (large): not in"))
    }

    @Test func requestFeaturesComeFromTheRequest() throws {
        let body = #"""
            {"model": "m", "max_tokens": 100, "thinking": {"type": "adaptive"},
             "tools": [{"name": "t", "input_schema": {"type": "object"}}],
             "messages": [{"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}]}]}
            """#
        let request = try MessagesRequest.parse(Array(body.utf8))
        #expect(RequestFeatures(request).needs == [.tools, .thinking, .images])
        let plain = try MessagesRequest.parse(Array(#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}"#.utf8))
        #expect(RequestFeatures(plain).needs.isEmpty)
    }
}
