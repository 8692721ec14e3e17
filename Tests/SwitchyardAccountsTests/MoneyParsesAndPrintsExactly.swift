import SwitchyardAccounts
import Testing

@Suite struct MoneyParsesAndPrintsExactly {
    @Test(arguments: [
        ("0", Int64(0)),
        ("12.5", 12_500_000_000),
        ("-0.000003", -3_000),
        ("+3", 3_000_000_000),
        (".25", 250_000_000),
        ("7.", 7_000_000_000),
        ("0.000000001", 1),
        ("-0.000000001", -1),
        ("1.123456789", 1_123_456_789),
        ("2.5000000000000", 2_500_000_000),
        ("-0", 0),
        ("9223372036.854775807", Int64.max),
        ("-9223372036.854775808", Int64.min),
        ("00012.50", 12_500_000_000),
    ])
    func parses(text: String, nanos: Int64) {
        #expect(Money(usd: text) == Money(nanos: nanos))
    }

    @Test(arguments: [
        "", ".", "-", "+", "1e3", "1.2.3", " 1", "1 ", "1,5", "0.0000000001", "abc", "--1", "inf", "NaN",
        "9223372036.854775808", "-9223372036.854775809", "99999999999",
    ])
    func rejects(text: String) {
        #expect(Money(usd: text) == nil)
    }

    @Test(arguments: [
        (Int64(0), "0"),
        (12_500_000_000, "12.5"),
        (-3_000, "-0.000003"),
        (1, "0.000000001"),
        (-1, "-0.000000001"),
        (10_000_000_000, "10"),
        (-10_000_000_000, "-10"),
        (1_000_000_010, "1.00000001"),
        (Int64.max, "9223372036.854775807"),
        (Int64.min, "-9223372036.854775808"),
    ])
    func prints(nanos: Int64, text: String) {
        #expect(Money(nanos: nanos).usdString == text)
    }

    @Test func printedTextParsesBackToTheSameAmount() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let amount = Money(nanos: Int64.random(in: .min ... .max, using: &generator))
            #expect(Money(usd: amount.usdString) == amount)
        }
    }

    @Test func arithmeticSaturatesInsteadOfTrapping() {
        #expect(Money(usd: "1.5")! + Money(usd: "0.25")! == Money(usd: "1.75")!)
        #expect(Money(usd: "1")! - Money(usd: "1.000000001")! == Money(nanos: -1))
        #expect(Money.max + Money(nanos: 1) == Money.max)
        #expect(Money(nanos: .min) - Money(nanos: 1) == Money(nanos: .min))
        #expect(-Money(nanos: .min) == Money.max)
        #expect(Money(nanos: 1) > .zero && Money(nanos: -1) < .zero)
    }
}
