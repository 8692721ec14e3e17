import SwitchyardMessages
import SwitchyardRouting
import Testing

/// `provider` as JSON text → preferences.
private func preferences(_ json: String) throws -> RoutingPreferences {
    guard case .object(let object) = try JSONParser.parse(json) else {
        Issue.record("not an object: \(json)")
        return .default
    }
    return try RoutingPreferences.parse(object)
}

/// The refusal message for `provider` as JSON text, or nil if it parses.
private func refusal(_ json: String) -> String? {
    do {
        _ = try preferences(json)
        return nil
    } catch let error as InvalidRequest {
        return error.message
    } catch {
        return "unexpected \(error)"
    }
}

@Suite struct ProviderPreferencesAreParsedStrictly {
    @Test func absentProviderGivesTheDefaults() throws {
        let parsed = try RoutingPreferences.parse(nil)
        #expect(parsed == .default)
        #expect(parsed.order.isEmpty && parsed.only == nil && parsed.ignore.isEmpty)
        #expect(parsed.allowFallbacks && !parsed.requireParameters && parsed.sort == nil && parsed.maxPrice == nil)
        #expect(parsed.isDefault)
        #expect(try preferences("{}") == .default)
    }

    @Test func everyMemberIsRead() throws {
        let parsed = try preferences(
            """
            {"order": ["b", "a"], "only": ["a", "b", "c"], "ignore": ["d"], "allow_fallbacks": false,
             "require_parameters": true, "sort": "latency", "max_price": {"input": 3, "output": 15.5}}
            """
        )
        #expect(parsed.order == ["b", "a"])
        #expect(parsed.only == ["a", "b", "c"])
        #expect(parsed.ignore == ["d"])
        #expect(parsed.allowFallbacks == false)
        #expect(parsed.requireParameters == true)
        #expect(parsed.sort == .latency)
        #expect(parsed.maxPrice == RoutingPreferences.MaxPrice(input: 3_000_000, output: 15_500_000))
        #expect(!parsed.isDefault)
    }

    @Test(arguments: ["price", "latency", "throughput"])
    func sortAcceptsEachValueAsStringOrObject(name: String) throws {
        let expected = RoutingPreferences.Sort(rawValue: name)
        #expect(expected != nil)
        #expect(try preferences(#"{"sort": "\#(name)"}"#).sort == expected)
        #expect(try preferences(#"{"sort": {"by": "\#(name)"}}"#).sort == expected)
        #expect(try preferences(#"{"sort": {"by": "\#(name)", "partition": "model"}}"#).sort == expected)
    }

    @Test func nullMembersAreAbsent() throws {
        let parsed = try preferences(
            """
            {"order": null, "only": null, "ignore": null, "allow_fallbacks": null, "require_parameters": null,
             "sort": null, "max_price": null}
            """
        )
        #expect(parsed == .default)
        #expect(try preferences(#"{"max_price": {"input": null, "output": 2}}"#).maxPrice
            == RoutingPreferences.MaxPrice(input: nil, output: 2_000_000))
        #expect(try preferences(#"{"max_price": {"input": null}}"#).maxPrice == nil)
        #expect(try preferences(#"{"sort": {"by": null}}"#).sort == nil)
    }

    @Test func aRepeatedMemberTakesItsLastValue() throws {
        #expect(try preferences(#"{"sort": "price", "sort": "throughput"}"#).sort == .throughput)
        #expect(try preferences(#"{"sort": "price", "sort": null}"#).sort == nil)
    }

    @Test func emptyOnlyListIsNoRestriction() throws {
        #expect(try preferences(#"{"only": []}"#).only == nil)
    }

    @Test func maxPriceConvertsUSDPerMillionToMicroUSD() throws {
        #expect(try preferences(#"{"max_price": {"input": 0.3}}"#).maxPrice?.input == 300_000)
        #expect(try preferences(#"{"max_price": {"input": 0.0000004}}"#).maxPrice?.input == 0)
        #expect(try preferences(#"{"max_price": {"input": 0.0000006}}"#).maxPrice?.input == 1)
        #expect(try preferences(#"{"max_price": {"output": 1e2}}"#).maxPrice?.output == 100_000_000)
        #expect(try preferences(#"{"max_price": {"output": 0}}"#).maxPrice?.output == 0)
        // OpenRouter's names are synonyms.
        #expect(try preferences(#"{"max_price": {"prompt": 1.25, "completion": 10}}"#).maxPrice
            == RoutingPreferences.MaxPrice(input: 1_250_000, output: 10_000_000))
    }

    @Test(arguments: [
        (#"{"order": "a"}"#, "provider.order: Input should be a valid list"),
        (#"{"order": ["a", 1]}"#, "provider.order.1: Input should be a valid string"),
        (#"{"only": {"a": 1}}"#, "provider.only: Input should be a valid list"),
        (#"{"only": [null]}"#, "provider.only.0: Input should be a valid string"),
        (#"{"ignore": true}"#, "provider.ignore: Input should be a valid list"),
        (#"{"ignore": ["a", "b", ["c"]]}"#, "provider.ignore.2: Input should be a valid string"),
        (#"{"allow_fallbacks": "false"}"#, "provider.allow_fallbacks: Input should be a valid boolean"),
        (#"{"require_parameters": 1}"#, "provider.require_parameters: Input should be a valid boolean"),
        (#"{"sort": "cheapest"}"#, "provider.sort: must be one of price, latency, throughput"),
        (#"{"sort": "Price"}"#, "provider.sort: must be one of price, latency, throughput"),
        (#"{"sort": {"by": "speed"}}"#, "provider.sort.by: must be one of price, latency, throughput"),
        (#"{"sort": {"by": 1}}"#, "provider.sort.by: must be one of price, latency, throughput"),
        (#"{"max_price": 3}"#, "provider.max_price: Input should be a valid dictionary"),
        (#"{"max_price": {"input": "3"}}"#, "provider.max_price.input: Input should be a valid number"),
        (#"{"max_price": {"output": -1}}"#, "provider.max_price.output: Input should be greater than or equal to 0"),
        (#"{"max_price": {"prompt": -0.5}}"#, "provider.max_price.prompt: Input should be greater than or equal to 0"),
        (#"{"max_price": {"completion": 1e300}}"#,
         "provider.max_price.completion: Input should be less than or equal to 1000000000000"),
    ])
    func typeErrorsNameTheMember(json: String, message: String) {
        #expect(refusal(json) == message)
    }

    @Test func sortOfAnotherTypeIsRefused() throws {
        let message = try #require(refusal(#"{"sort": 1}"#))
        #expect(message.hasPrefix("provider.sort: must be one of price, latency, throughput"))
    }

    @Test func sortAcrossModelsIsRefused() throws {
        let message = try #require(refusal(#"{"sort": {"by": "price", "partition": "none"}}"#))
        #expect(message.hasPrefix("provider.sort.partition: "))
        let other = try #require(refusal(#"{"sort": {"by": "price", "order": "desc"}}"#))
        #expect(other.hasPrefix("provider.sort.order: not supported"))
    }

    @Test(arguments: ["data_collection", "zdr", "quantizations", "allow_fallback", "Order"])
    func unknownMembersAreRefusedListingTheSupportedOnes(member: String) throws {
        let message = try #require(refusal(#"{"order": ["a"], "\#(member)": "deny"}"#))
        #expect(message.hasPrefix("provider.\(member): not supported"))
        for supported in RoutingPreferences.supportedMembers {
            #expect(message.contains(supported))
        }
        #expect(message.contains("order, only, ignore, allow_fallbacks, require_parameters, sort, max_price"))
    }

    @Test(arguments: ["request", "image"])
    func nonTokenPricesAreRefused(member: String) throws {
        let message = try #require(refusal(#"{"max_price": {"input": 1, "\#(member)": 0.01}}"#))
        #expect(message.hasPrefix("provider.max_price.\(member): not supported: only per-token prices"))
    }

    @Test func unknownMaxPriceMembersAreRefused() throws {
        let message = try #require(refusal(#"{"max_price": {"inputs": 1}}"#))
        #expect(message.hasPrefix("provider.max_price.inputs: not supported"))
    }
}
