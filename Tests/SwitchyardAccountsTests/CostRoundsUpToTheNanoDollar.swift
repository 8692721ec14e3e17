import SwitchyardAccounts
import Testing

@Suite struct CostRoundsUpToTheNanoDollar {
    @Test func oneTokenAtAFractionOfANanoDollarCostsOneWholeUnitMore() {
        // 1 token × 0.0375 USD/M = 3.75e-8 USD = 37.5 nano-dollars → 38.
        let price = TokenPrices(cacheRead: 37_500)
        #expect(cost(of: TokenUsage(cacheRead: 1), at: price) == Money(nanos: 38))
    }

    @Test func exactAmountsAreNotRoundedUp() {
        // 1000 tokens × 3 USD/M = 0.003 USD exactly.
        #expect(cost(of: TokenUsage(input: 1_000), at: TokenPrices(input: 3_000_000)) == Money(usd: "0.003"))
    }

    @Test func kindsAreSummedBeforeRounding() {
        // 37.5 + 37.5 nano-dollars = 75, not 38 + 38 = 76.
        let prices = TokenPrices(input: 37_500, output: 37_500)
        #expect(cost(of: TokenUsage(input: 1, output: 1), at: prices) == Money(nanos: 75))
    }

    @Test func aTypicalSonnetRequest() {
        let prices = TokenPrices(input: 3_000_000, output: 15_000_000, cacheRead: 300_000, cacheWrite: 3_750_000)
        let usage = TokenUsage(input: 472, output: 89, cacheRead: 2_048, cacheWrite: 100)
        // 472×3 + 89×15 + 2048×0.3 + 100×3.75 = 1416 + 1335 + 614.4 + 375 = 3740.4 micro-dollars.
        #expect(cost(of: usage, at: prices) == Money(usd: "0.0037404"))
    }

    @Test func freeAndEmptyCostNothing() {
        #expect(cost(of: TokenUsage(input: 10, output: 10), at: .free) == .zero)
        #expect(cost(of: .zero, at: TokenPrices(input: 3_000_000)) == .zero)
    }

    @Test func negativeInputsCountAsZeroAndHugeOnesClamp() {
        #expect(cost(of: TokenUsage(input: -5, output: 1_000), at: TokenPrices(input: 1, output: 1)) == Money(nanos: 1))
        #expect(cost(of: TokenUsage(input: 1_000), at: TokenPrices(input: -3_000_000)) == .zero)
        let huge = TokenUsage(input: .max, output: .max, cacheRead: .max, cacheWrite: .max)
        let expensive = TokenPrices(input: .max, output: .max, cacheRead: .max, cacheWrite: .max)
        #expect(cost(of: huge, at: expensive) == .max)
    }

    @Test func configuredPricesConvertToMicroDollars() {
        #expect(TokenPrices.microUSD(fromUSDPerMillion: 3.00) == 3_000_000)
        #expect(TokenPrices.microUSD(fromUSDPerMillion: 0.30) == 300_000)
        #expect(TokenPrices.microUSD(fromUSDPerMillion: 3.75) == 3_750_000)
        #expect(TokenPrices.microUSD(fromUSDPerMillion: 0.0375) == 37_500)
        #expect(TokenPrices.microUSD(fromUSDPerMillion: -1) == 0)
        #expect(TokenPrices.microUSD(fromUSDPerMillion: .nan) == 0)
    }
}
