import Foundation
import Testing
@testable import SwitchyardServer

/// The rate-limit reset headers' timestamps, formatted by arithmetic, agree with Foundation's ISO 8601 formatter.
@Suite struct RFC3339Tests {
    @Test func formatsLikeFoundationOverFourCenturies() {
        // Every day boundary and a spread of times of day from 1900 to 2300, leap days and century years included.
        var seconds: Double = -2_208_988_800  // 1900-01-01
        var checked = 0
        while seconds < 10_413_792_000 {  // 2300-01-01
            for offset in [0.0, 0.25, 3_599.5, 86_399] {
                let value = seconds + offset
                let expected = Date(timeIntervalSince1970: value.rounded(.up)).ISO8601Format()
                #expect(RFC3339.format(epochSeconds: value) == expected)
                checked += 1
            }
            seconds += 86_400 * 7 + 3_671  // a week and a bit: walks through every weekday and time of day
        }
        #expect(checked > 80_000)
        #expect(RFC3339.format(epochSeconds: 951_782_400) == "2000-02-29T00:00:00Z")
        #expect(RFC3339.format(epochSeconds: 1_795_558_800.4) == "2026-11-24T22:20:01Z")
    }

    @Test func valuesOutsideTheFormatAreClampedNotTrapped() {
        #expect(RFC3339.format(epochSeconds: .nan) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.format(epochSeconds: .infinity) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.format(epochSeconds: 1e300) == "9999-12-31T23:59:59Z")
        #expect(RFC3339.format(epochSeconds: -1e300) == "0000-01-01T00:00:00Z")
        #expect(RFC3339.format(epochSeconds: -1) == "1969-12-31T23:59:59Z")
    }
}
